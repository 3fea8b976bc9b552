// Profiling aid (issue #22): the hub's own cost per cross-node envelope, below the bench's noise. Decode of a
// received batch (as the backplane reads it) and the forward batcher's add + flush + answer (a runner that
// answers at once: Redis and its client left out). Bundled, so that it runs as dist/ does:
//   node_modules/.bin/esbuild bench/cross-node-micro.mts --bundle --format=esm --platform=node --outfile=/tmp/cross-node-micro.mjs && node /tmp/cross-node-micro.mjs

import * as codec from '../src/cluster/envelope-codec.ts';
import { ForwardBatcher } from '../src/cluster/redis/forward-batcher.ts';

const C = JSON.stringify({
  candidate:
    'candidate:842163049 1 udp 1677729535 192.0.2.33 52001 typ srflx raddr 10.0.0.7 rport 52001 generation 0 ufrag sEcR network-id 3 network-cost 10',
  sdpMid: '0',
  sdpMLineIndex: 0,
});
const node = globalThis.crypto.randomUUID();
const frameOf = (i: number) => `{"type":"candidate","candidate":${C},"from":"a${i}"}`;

function batchOf(n: number, start: number): Buffer {
  const envs = [];
  for (let i = 0; i < n; i++)
    envs.push({ kind: 'candidate', fromNode: node, from: `a${start + i}`, to: `b${start + i}`, frame: frameOf(start + i) });
  let bound = 0;
  for (const e of envs) bound += codec.framedBytesBound(e);
  const buf = Buffer.alloc(bound);
  let at = 0;
  for (const e of envs) at = codec.writeFramedEnvelope(buf, at, e);
  return Buffer.from(buf.subarray(0, at));
}

function time(label: string, perOp: number, fn: () => void, ms = 1500) {
  for (let i = 0; i < 2000; i++) fn();
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 200; i++) fn();
    ops += 200;
    t = performance.now();
  }
  console.log(`${label}: ${((1e6 * (t - t0)) / ops / perOp).toFixed(1)} ns/envelope`);
}

let sink = 0;
for (const n of [8, 40]) {
  const batches = Array.from({ length: 64 }, (_, k) => batchOf(n, k * n));
  let k = 0;
  time(`decode+read batch of ${n}`, n, () => {
    const bytes = batches[k++ & 63]!;
    if (!codec.isByteFramed(bytes)) throw new Error('not byte framed');
    const envs = codec.decodeEnvelopeBytes(bytes)!;
    for (const e of envs) {
      // What Router.deliver reads for a candidate.
      sink += e.to.length + (e.kind === 'leave' ? 1 : 0) + (e.bytes?.length ?? 0) + e.from.length + e.fromNode.length;
    }
  });
}

// Batcher: add n relays from bytes, then flush; the runner answers 'one holder' at once.
for (const n of [8, 40]) {
  let answered = 0;
  const reply = Promise.resolve([node, 1, '12345']);
  const runner = { forwardBatchBytes: 1 << 20, deadline: () => String(Math.floor(performance.now() + 1e12)), run: () => reply };
  const batcher = new ForwardBatcher(runner as never, '{p:}', 'self-node', () => {});
  const frames = Array.from({ length: n }, (_, i) => Buffer.from(frameOf(i)));
  const done = () => {
    answered++;
  };
  let round = 0;
  const names = Array.from({ length: 8 * n }, (_, i) => [`a${i}`, `b${i}`]);
  const one = () => {
    const base = (round++ & 7) * n;
    for (let i = 0; i < n; i++)
      batcher.add('candidate', 'self-node', names[base + i]![0]!, names[base + i]![1]!, frames[i]!, done);
    batcher.flush();
  };
  for (let i = 0; i < 2000; i++) {
    one();
    await null;
  }
  let ops = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) {
    for (let i = 0; i < 100; i++) {
      one();
      await null;
    }
    ops += 100;
  }
  console.log(`add+flush+answer batch of ${n}: ${((1e6 * (performance.now() - t0)) / ops / n).toFixed(1)} ns/envelope`);
  await new Promise((r) => setTimeout(r, 10));
  sink += answered;
}
console.log('sink', sink > 0);
