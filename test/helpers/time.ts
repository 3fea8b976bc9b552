/**
 * Waits `ms`. For pacing what a test sends, or letting real time pass (an
 * expiry, a media flow), never as a barrier: a test waits for what it
 * checks on a sentinel message or an event with a deadline.
 */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks `check` every `everyMs` until it resolves true; rejects naming `what`
 * after `timeoutMs`. For state no event announces (what Redis holds, a
 * cluster's view of its slots): the deadline bounds it, the answer decides.
 */
export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  everyMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
