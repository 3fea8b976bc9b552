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
 * The tokens of a bucket of `burst` refilled at `perSecond` for `elapsed` ms
 * (none when the clock went back), less the one a message takes: the
 * limiter's rule over plain numbers, for an owner that keeps them in its own
 * fields (a connection, so that its limiter costs no object).
 */
export function tokensAfterMessage(tokens: number, elapsed: number, perSecond: number, burst: number): number {
  return (elapsed > 0 ? Math.min(burst, tokens + (elapsed * perSecond) / 1000) : tokens) - 1;
}

/**
 * What a bucket of `burst` decides with `tokens` left once a message took
 * its own. Tokens go negative while a client floods; a full extra burst of
 * debt means it is not a real client and the connection is closed.
 */
export function admission(tokens: number, burst: number): Admission {
  if (tokens >= 0) return Admission.Accept;
  if (tokens <= -burst) return Admission.Disconnect;
  // Within one token below zero: the bucket was not empty before this message, so this is the first drop.
  return tokens >= -1 ? Admission.RejectFirst : Admission.Reject;
}

/**
 * A token bucket read on each message, so an idle connection costs no timer
 * (the dialects' sessions keep one; the hub's connections keep its two numbers
 * in their own fields, through {@link tokensAfterMessage}).
 */
export class RateLimiter extends TokenBucket {
  admit(now: number): Admission {
    this.refill(now);
    this.tokens -= 1;
    return admission(this.tokens, this.burst);
  }
}
