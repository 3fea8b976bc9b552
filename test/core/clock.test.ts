import { afterEach, describe, expect, it, vi } from 'vitest';
import { READS, coarseNow } from '../../src/core/clock.js';

/**
 * Resolves once `check` holds, yielding to the event loop between tries and trying every 2 ms
 * (so that a wait reads the clock far fewer than READS times); fails after `ms` of real time.
 */
async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms;
  let next = 0;
  for (;;) {
    const at = performance.now();
    if (at >= next) {
      if (check()) return;
      next = at + 2;
    }
    if (at > deadline) throw new Error('timed out');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('coarseNow', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('is never ahead of Date.now(), and moves on once its tick has passed', async () => {
    for (let k = 0; k < 1000; k++) expect(coarseNow()).toBeLessThanOrEqual(Date.now());
    const first = coarseNow();
    await until(() => coarseNow() > first);
    expect(coarseNow()).toBeLessThanOrEqual(Date.now());
  });

  it('reads the system clock once for many reads in one moment, and again after READS reads', () => {
    // Use up what an earlier read left: the next read is a fresh one.
    for (let k = 0; k < READS; k++) coarseNow();
    const spy = vi.spyOn(Date, 'now');
    coarseNow();
    for (let k = 1; k < READS; k++) coarseNow();
    // A busy loop holds the tick back; the count alone brings the next read.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(1);
    coarseNow();
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(1);
  });

  it('follows a fake Date, even with fake timers that never advance', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'], now: 5_000 });
    await until(() => coarseNow() === 5_000);
    vi.setSystemTime(9_000);
    // Its tick is a real timer, taken before the fakes: it fires without the test advancing them.
    await until(() => coarseNow() === 9_000);
    vi.useRealTimers();
    await until(() => coarseNow() > 1_000_000);
    expect(coarseNow()).toBeLessThanOrEqual(Date.now());
  });
});
