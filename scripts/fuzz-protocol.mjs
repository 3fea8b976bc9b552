#!/usr/bin/env node
// The long run of the protocol fuzzer against its reference model (test/fuzz/protocol.ts).
//
//   npm run fuzz:protocol                                   1,000,000 steps over the in-memory transport
//   npm run fuzz:protocol -- --steps 20000 --transport 2    over ws (0: in-memory text, 1: in-memory bytes,
//                                                           2: ws fast path, 3: ws fast path off, 4: two nodes through Redis)
//   npm run fuzz:protocol -- --seed 42                      replays the round fast-check reported with seed 42
//
// Exits 1 with fast-check's report (seed, path, the failing sequence of steps) on a failure.
import { integerOptions, loadHarness, versions } from './fuzz-bundle.mjs';

const args = integerOptions(['seed', 'steps', 'transport', 'per-run']);
const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
const steps = args.steps ?? 1_000_000;
const { runProtocolFuzz } = await loadHarness('test/fuzz/protocol.ts');
const { transports } = await loadHarness('test/matrix/transports.ts');
const factory = transports[args.transport ?? 0];
if (factory === undefined) throw new Error(`--transport must be 0 to ${transports.length - 1}`);
const network = !factory.name.startsWith('in-memory');
console.log(`protocol fuzz over ${factory.name}: seed ${seed}, ${steps} steps; ${await versions()}`);
try {
  const result = await runProtocolFuzz({
    factory,
    seed,
    steps,
    perRun: args['per-run'] ?? (network ? 100 : 200),
    runsPerRound: network ? 10 : 200,
    shrink: !network,
    onProgress: (p) => console.log(`  ${p.steps} steps, ${p.sequences} sequences, ${(p.ms / 1000).toFixed(0)} s`),
  });
  console.log(JSON.stringify({ ...result, transport: factory.name, failures: 0 }));
} catch (error) {
  console.log(String(error?.message ?? error));
  process.exitCode = 1;
}
