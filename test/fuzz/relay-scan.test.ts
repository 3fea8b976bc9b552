import { describe, expect, it } from 'vitest';
import { seedFrom } from './prng.js';
import { runScannerFuzz } from './relay-scan.js';

/**
 * The CI run of the relay scanner's long-run harness (the long run: `npm run fuzz:scanner`;
 * the fixed-seed differential fuzz stays in test/protocol/relay-scan.test.ts).
 */
describe('the relay scanner against JSON.parse, long-run harness', () => {
  it('agrees with JSON.parse on 200,000 mutated relays at random buffer offsets', () => {
    const seed = seedFrom(process.env.FUZZ_SEED);
    console.log(`scanner fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const result = runScannerFuzz({ seed, mutations: 200_000 });
    console.log(JSON.stringify(result));
    // Many mutants stay valid relays (an edit inside a string): the agreement check ran on them.
    expect(result.accepted).toBeGreaterThan(10_000);
  }, 60_000);
});
