/**
 * Delay before reconnection attempt `attempt` (1, 2, …): exponential from
 * `initial`, capped at `max`, with "equal jitter" — half fixed, half random —
 * so clients dropped together do not all come back in the same instant, yet
 * none retries sooner than half the step.
 */
export function backoffDelay(attempt: number, initial: number, max: number, random: () => number): number {
  const step = Math.min(max, initial * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}
