#!/usr/bin/env node
// The long run of the differential frame fuzzer (test/fuzz/frames.ts): the same random TCP byte
// streams to attach() (fast path on and off) and to a plain ws WebSocketServer.
//
//   npm run fuzz:frames                                  1,000,000 frames, a fresh seed
//   npm run fuzz:frames -- --frames 50000 --seed 42
//   npm run fuzz:frames -- --seed 42 --stream 1234       replays one stream and prints it
//
// Exits 1 on any divergence; the divergences are written to fuzz-frames-<seed>.json.
import { writeFileSync } from 'node:fs';
import { integerOptions, loadHarness, versions } from './fuzz-bundle.mjs';

const args = integerOptions(['seed', 'frames', 'stream', 'concurrency']);
const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
const frames = args.frames ?? 1_000_000;
const { runFrameFuzz } = await loadHarness('test/fuzz/frames.ts');
console.log(
  `frame fuzz: seed ${seed}, ${args.stream !== undefined ? `stream ${args.stream}` : `${frames} frames`}; ${await versions()}`,
);
const result = await runFrameFuzz({
  seed,
  frames: args.stream !== undefined ? Infinity : frames,
  only: args.stream,
  concurrency: args.concurrency ?? 8,
  maxDivergences: 20,
  onProgress: (p) =>
    console.log(
      `  ${p.frames} frames, ${p.streams} streams, ${p.runs} connections, ${p.divergences.length} divergences, ${(p.ms / 1000).toFixed(0)} s`,
    ),
});
console.log(JSON.stringify({ ...result, divergences: result.divergences.length }));
if (args.stream !== undefined) {
  for (const d of result.divergences) console.log(JSON.stringify(d, null, 1));
  if (result.divergences.length === 0) console.log('no divergence for this stream');
}
if (result.divergences.length > 0) {
  const file = `fuzz-frames-${seed}.json`;
  writeFileSync(file, JSON.stringify(result.divergences, null, 1));
  console.log(`${result.divergences.length} divergences, written to ${file}`);
  process.exitCode = 1;
}
