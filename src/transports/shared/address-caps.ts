import { TokenBucket } from '../../common/token-bucket.js';
import { InvalidOptionError } from '../../core/errors.js';
import { type Check, describeValue, either, integer, positiveNumber } from '../../core/option-check.js';

/** New connections per second from one address (a token bucket). */
export interface ConnectionRateOptions {
  /** Sustained new connections per second from one address. */
  perSecond: number;
  /** New connections one address may open at once before the sustained rate applies. */
  burst: number;
}

/** Buckets kept before idle ones are swept (an idle bucket is full again: forgetting it changes nothing). */
const SWEEP_AT = 10_000;

/**
 * Per-address limits on new connections: how many may be open from one
 * address, how many may be opened per second. What is open is counted by
 * the hub (over every transport); the rate is counted here, per `attach()`.
 */
export class AddressCaps {
  // A refused handshake takes no token (TokenBucket.take), so an address that kept knocking is let in
  // again as soon as it slows down.
  private readonly buckets = new Map<string, { bucket: TokenBucket; last: number }>();
  private readonly idleMs: number;

  constructor(
    /** Open connections allowed per address; `0`: no cap. */
    private readonly maxConnections: number,
    private readonly rate: ConnectionRateOptions | false,
  ) {
    this.idleMs = rate === false ? 0 : Math.ceil((rate.burst / rate.perSecond) * 1000);
  }

  /** Whether a new connection from `address` (with `open` connections already) is over a cap; takes a token if not. */
  refuses(address: string, open: number): boolean {
    if (this.maxConnections > 0 && open >= this.maxConnections) return true;
    const rate = this.rate;
    if (rate === false) return false;
    const now = Date.now();
    let entry = this.buckets.get(address);
    if (entry === undefined) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      entry = { bucket: new TokenBucket(rate.perSecond, rate.burst, now), last: now };
      this.buckets.set(address, entry);
    }
    entry.last = now;
    return entry.bucket.take(now) !== 0;
  }

  private sweep(now: number): void {
    for (const [address, bucket] of this.buckets) if (now - bucket.last > this.idleMs) this.buckets.delete(address);
  }
}

/** `connectionRate`: `false` or `{ perSecond, burst }` (for `attach()` and the Bun handler). */
export const connectionRateCheck: Check<Readonly<ConnectionRateOptions> | false> = either(
  (value) => value === false,
  () => false as const,
  (value, option) => {
    if (typeof value !== 'object' || value === null)
      throw new InvalidOptionError(option, 'false or { perSecond, burst }', describeValue(value));
    const fields = value as Record<string, unknown>;
    return Object.freeze({
      perSecond: positiveNumber(fields.perSecond, `${option}.perSecond`),
      burst: integer(1)(fields.burst, `${option}.burst`),
    });
  },
);
