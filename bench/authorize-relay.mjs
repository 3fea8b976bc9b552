// `node bench/authorize-relay.mjs` (after the build): 1M in-memory relays (byte path, candidate
// frames as a ws adapter hands them over) without and with a trivial `authorizeRelay` hook,
// rounds interleaved; prints the median ns per relay of each and their ratio.
import { SignallingHub } from '../dist/index.js';

const N = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 1_000_000);
const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 5);
const encoder = new TextEncoder();

function setUp(options) {
  const hub = new SignallingHub({ rateLimit: false, ...options });
  let received = 0;
  const sink = { send: () => received++, close() {} };
  const a = hub.open({ send() {}, close() {} });
  const b = hub.open(sink);
  a.receive('{"type":"login","name":"a"}');
  b.receive('{"type":"login","name":"b"}');
  const frame = encoder.encode(
    '{"type":"candidate","name":"b","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host","sdpMid":"0","sdpMLineIndex":0}}',
  );
  return { hub, a, frame, count: () => received };
}

function run(setup) {
  const { a, frame } = setup;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) a.receive(frame);
  return Number(process.hrtime.bigint() - start) / N;
}

const without = setUp({});
const allowed = new Set(['b']);
const withHook = setUp({ authorizeRelay: ({ to }) => allowed.has(to) });
// Warm both up before timing.
run(without);
run(withHook);
const times = { without: [], with: [] };
for (let round = 0; round < ROUNDS; round++) {
  times.without.push(run(without));
  times.with.push(run(withHook));
}
const median = (list) => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)];
const a = median(times.without);
const b = median(times.with);
console.log(`relays per round: ${N}, rounds: ${ROUNDS}`);
console.log(`without authorizeRelay: ${a.toFixed(1)} ns/relay`);
console.log(`with a Set lookup hook: ${b.toFixed(1)} ns/relay (${((b / a - 1) * 100).toFixed(1)} %)`);
if (without.count() < N || withHook.count() < N) throw new Error('relays were not delivered');
await without.hub.close();
await withHook.hub.close();
