/**
 * The time for per-message bookkeeping (the rate limit): `Date.now()`, read
 * from the system at most about once a millisecond while it is asked for.
 *
 * Why: the limiter asks for every message, and a clock read costs as much as
 * a tenth of the hub's own work on a relay. nginx caches its time per event
 * loop turn for the same reason. The value is never ahead of the clock. It is
 * behind by at most a millisecond plus however long the event loop is held
 * (a loop that is busy delays the timer that marks it stale), and by at most
 * {@link READS} reads: a limiter that sees time late refills late, so it is
 * stricter for that moment, never more lenient.
 */

/** Reads one system read may serve, so that a timer held back (a busy loop, fake timers) cannot stop the clock. */
export const READS = 4096;

// Taken when the module loads: fake timers installed later (a host's tests) cannot hold the tick back.
const setTimer = globalThis.setTimeout;

let now = 0;
/** Reads left before the system clock is read again; the tick sets it to 0 a millisecond after a read. */
let left = 0;

function stale(): void {
  left = 0;
}

/** `Date.now()` as of at most about a millisecond ago (see the module's comment). */
export function coarseNow(): number {
  if (left > 0) {
    left--;
    return now;
  }
  now = Date.now();
  left = READS - 1;
  const timer = setTimer(stale, 1);
  // Node and Bun: a pending tick must not keep a process alive.
  if (typeof timer === 'object') (timer as { unref?: () => void }).unref?.();
  return now;
}
