import { describe, expect, it } from 'vitest';
import { Admission, RateLimiter } from '../../src/core/rate-limiter.js';

describe('RateLimiter', () => {
  it('accepts a burst, says the first drop once, then disconnects after a further burst, all within one millisecond', () => {
    const limiter = new RateLimiter(10, 5, 0);
    const verdicts = Array.from({ length: 12 }, () => limiter.admit(0));
    expect(verdicts).toEqual([
      ...Array(5).fill(Admission.Accept),
      Admission.RejectFirst,
      ...Array(3).fill(Admission.Reject),
      Admission.Disconnect,
      Admission.Disconnect,
      Admission.Disconnect,
    ]);
  });

  it('refills at the sustained rate and says the next episode again', () => {
    const limiter = new RateLimiter(10, 2, 0);
    expect([limiter.admit(0), limiter.admit(0), limiter.admit(0)]).toEqual([
      Admission.Accept,
      Admission.Accept,
      Admission.RejectFirst,
    ]);
    // 300 ms at 10/s: three tokens back, minus the one owed; capped at the burst.
    expect(limiter.admit(300)).toBe(Admission.Accept);
    expect(limiter.admit(300)).toBe(Admission.Accept);
    expect(limiter.admit(300)).toBe(Admission.RejectFirst);
    expect(limiter.admit(10_000)).toBe(Admission.Accept);
  });
});
