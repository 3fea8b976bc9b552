import { TokenBucket, refilled } from '../common/token-bucket.js';
import { CloseCode } from '../protocol/close-codes.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { RateLimitOptions } from './options.js';
import type { LeaveReason } from './peer.js';

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
 * in their own fields, through {@link admitMessage}).
 */
export class RateLimiter extends TokenBucket {
  admit(now: number): Admission {
    this.refill(now);
    this.tokens -= 1;
    return admission(this.tokens, this.burst);
  }
}

/** A connection as its rate limit sees it: the limiter's two numbers in its own fields, and its answers. */
export interface RateLimited {
  /** Tokens left as of `rateAt` (start: the burst). */
  rateTokens: number;
  /** When they were counted (ms). */
  rateAt: number;
  fail(code: `${ErrorCode}`, message: string): void;
  close(code: number, reason: string, why: LeaveReason): void;
}

/**
 * Whether `limit` lets one more message of `connection` in, now. Over the
 * limit, the client is told once (`rate-limited`) and further messages are
 * dropped; a whole further burst of them closes the connection (4429).
 */
export function admitMessage(connection: RateLimited, limit: Readonly<RateLimitOptions> | false): boolean {
  if (limit === false) return true;
  const now = Date.now();
  const at = connection.rateAt;
  const tokens = (connection.rateTokens = refilled(connection.rateTokens, now - at, limit.messagesPerSecond, limit.burst) - 1);
  if (now > at) connection.rateAt = now;
  switch (admission(tokens, limit.burst)) {
    case Admission.Accept:
      return true;
    case Admission.RejectFirst:
      connection.fail(ErrorCode.RateLimited, 'Too many messages: this one and the next ones are dropped until the rate falls');
      return false;
    case Admission.Reject:
      return false;
    case Admission.Disconnect:
      connection.close(CloseCode.TooManyMessages, 'rate limit exceeded', 'rate-limited');
      return false;
  }
}
