import { describe, expect, it } from 'vitest';
import { compareStream, type FrameFuzzResult, hubTarget, MAX_PAYLOAD, runFrameFuzz, wsTarget } from './frames.js';
import { seedFrom } from './prng.js';

/** A divergence in a form that fits a test failure, with the command that replays it. */
function report(result: FrameFuzzResult): string {
  return result.divergences
    .slice(0, 3)
    .map(
      (d) => `replay: npm run fuzz:frames -- --seed ${d.seed} --stream ${d.stream}\n${JSON.stringify(d, null, 1).slice(0, 4000)}`,
    )
    .join('\n\n');
}

/**
 * The CI run of the differential frame fuzzer (the long run: `npm run fuzz:frames`).
 * A fresh seed each run, printed; `FUZZ_SEED=<seed>` replays a run.
 */
describe('ws frames, differential: attach() against a plain ws server', () => {
  it('reads 20,000 random frames exactly as ws does, with the fast path on and off', async () => {
    const seed = seedFrom(process.env.FUZZ_SEED);
    console.log(`frame fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const result = await runFrameFuzz({ seed, frames: 20_000, concurrency: 4 });
    console.log(JSON.stringify({ ...result, divergences: result.divergences.length }));
    expect(result.divergences, report(result)).toEqual([]);
    expect(result.timeouts).toBe(0);
    expect(result.frames).toBeGreaterThanOrEqual(20_000);
    // The streams reached every kind of ending: framing errors, bad UTF-8, oversize, the client's close, the rate limit.
    for (const code of ['1002', '1007', '1009', '1000', '4429', 'none'])
      expect(result.closeCodes[code] ?? 0, code).toBeGreaterThan(0);
    expect(result.delivered).toBeGreaterThan(5000);
  }, 120_000);

  it('finds no divergence between two plain ws servers (the harness itself is deterministic)', async () => {
    const seed = seedFrom(process.env.FUZZ_SEED);
    const result = await runFrameFuzz({ seed, frames: 3000, concurrency: 4, subjects: async () => [await wsTarget()] });
    expect(result.divergences, report(result)).toEqual([]);
  }, 60_000);

  it('notices a server that reads differently (a smaller maxPayload)', async () => {
    // A fixed seed: a fresh one may draw no frame between the two limits in a short run.
    const result = await runFrameFuzz({
      seed: 7,
      frames: 20000,
      concurrency: 4,
      maxDivergences: 1,
      subjects: async () => [await hubTarget(true, MAX_PAYLOAD - 64)],
    });
    expect(result.divergences.length).toBe(1);
  }, 60_000);
});

/**
 * The fuzzer's finding (1,000,000-frame run, seed 406153187): ws refuses a close frame with a
 * 1-byte payload on its first two bytes and closes with 1002 at once; the fast frame reader used
 * to wait for the rest of the frame, leaving the connection open when the stream stopped there.
 * Frames with a 16-bit length that ws refuses on their first byte or mask bit are the same kind
 * of case. All stay as regression cases, fast path on and off.
 */
describe('frames ws refuses on their first two bytes, then nothing', () => {
  const refusedOnHeader = [
    ['a close frame with a 1-byte payload', '8881'],
    ['an unmasked text frame with a 16-bit length', '817e'],
    ['a reserved opcode with a 16-bit length', '83fe'],
    ['a ping without FIN', '0980'],
    ['RSV1 on a text frame with a 16-bit length', 'c1fe'],
  ] as const;
  const expected = { received: ['closed 1002'], replies: ['close 1002 ""'], end: 'closed' };

  it.each(refusedOnHeader)('closes at once like ws on %s, fast path on and off', async (_label, hex) => {
    const outcomes = await compareStream(Buffer.from(hex, 'hex'));
    const [reference, ...subjects] = Object.values(outcomes);
    expect(reference).toEqual(expected);
    for (const subject of subjects) expect(subject).toEqual(reference);
  });
});
