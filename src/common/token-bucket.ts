/**
 * `tokens` after `elapsed` ms of refill at `perSecond`, up to `burst` (none
 * when the clock went back): the rule for a bucket whose owner keeps its
 * numbers in its own fields, as {@link TokenBucket} does in its own.
 */
export function refilled(tokens: number, elapsed: number, perSecond: number, burst: number): number {
  return elapsed > 0 ? Math.min(burst, tokens + (elapsed * perSecond) / 1000) : tokens;
}

/**
 * A token bucket read lazily (no timer): `perSecond` tokens accrue, up to
 * `burst`. The hub's rate limiter and the client's pace are both one.
 * Monomorphic and allocation-free: the limiter runs it for every message.
 */
export class TokenBucket {
  /** Tokens now (as of the last refill); the hub's limiter lets it go negative (a debt). */
  tokens: number;
  private last: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Adds the tokens accrued since the last refill, up to `burst`. */
  refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.last = now;
      this.tokens = refilled(this.tokens, elapsed, this.perSecond, this.burst);
    }
  }

  /** Takes a token: 0 when there was one, else the milliseconds until there is (nothing taken). */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
  }
}
