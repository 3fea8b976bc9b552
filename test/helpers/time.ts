/**
 * Waits `ms`. For pacing what a test sends, or letting real time pass (an
 * expiry, a media flow), never as a barrier: a test waits for what it
 * checks on a sentinel message or an event with a deadline.
 */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
