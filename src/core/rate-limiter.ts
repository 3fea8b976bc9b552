/** What the limiter decides for one message. */
export enum Admission {
  /** Within the limit. */
  Accept,
  /** Over the limit: drop it, and say so once. */
  RejectFirst,
  /** Still over the limit: drop it silently (the client was told). */
  Reject,
  /** Kept flooding for a whole further burst: close the connection. */
  Disconnect,
}

/**
 * A token bucket read lazily on each message, so an idle connection costs no
 * timer. Tokens go negative while a client floods; a full extra burst of
 * debt means it is not a real client and the connection is closed.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  admit(now: number): Admission {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.last = now;
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
    }
    this.tokens -= 1;
    if (this.tokens >= 0) return Admission.Accept;
    if (this.tokens <= -this.burst) return Admission.Disconnect;
    // Within one token below zero: the bucket was not empty before this message, so this is the first drop.
    return this.tokens >= -1 ? Admission.RejectFirst : Admission.Reject;
  }
}
