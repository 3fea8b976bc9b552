import { TokenBucket } from '../common/token-bucket.js';

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
 * A token bucket read on each message, so an idle connection costs no timer.
 * Tokens go negative while a client floods; a full extra burst of debt means
 * it is not a real client and the connection is closed.
 */
export class RateLimiter extends TokenBucket {
  admit(now: number): Admission {
    this.refill(now);
    this.tokens -= 1;
    if (this.tokens >= 0) return Admission.Accept;
    if (this.tokens <= -this.burst) return Admission.Disconnect;
    // Within one token below zero: the bucket was not empty before this message, so this is the first drop.
    return this.tokens >= -1 ? Admission.RejectFirst : Admission.Reject;
  }
}
