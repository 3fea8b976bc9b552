#!/usr/bin/env node
// The long run of the relay scanner's differential fuzz against JSON.parse (test/fuzz/relay-scan.ts).
//
//   npm run fuzz:scanner                                 10,000,000 mutations, a fresh seed
//   npm run fuzz:scanner -- --seed 42 --from 123456 --mutations 1   replays case 123456 of seed 42
import { integerOptions, loadHarness, versions } from './fuzz-bundle.mjs';

const args = integerOptions(['seed', 'mutations', 'from']);
const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
const mutations = args.mutations ?? 10_000_000;
const { runScannerFuzz } = await loadHarness('test/fuzz/relay-scan.ts');
console.log(`scanner fuzz: seed ${seed}, ${mutations} mutations; ${await versions()}`);
try {
  const result = runScannerFuzz({
    seed,
    mutations,
    from: args.from,
    onProgress: (p) => console.log(`  ${p.mutations} mutations, ${p.accepted} accepted, ${(p.ms / 1000).toFixed(0)} s`),
  });
  console.log(JSON.stringify({ ...result, disagreements: 0 }));
} catch (error) {
  console.log(String(error?.message ?? error));
  process.exitCode = 1;
}
