// `npm run bench` (after the build): the hub against a tutorial-style server, PeerJS server,
// socket.io and a no-parse floor, rounds interleaved, and the hub on Bun.serve beside a no-parse floor on Bun.serve;
// then the hub over its HTTP fallback beside its ws adapter; then the sections of issues #19–#21 (bench/lib/authorize.mjs:
// an `authorizeRelay` hook against none; rooms.mjs: a 100-member room on one node against two through Redis;
// dialects.mjs: the y-webrtc dialect against y-webrtc's bin/server.js and the hub's own protocol).
// `--quick`: a smoke run (about 30 s, small N), nothing written.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bunBinary } from './lib/bun.mjs';
import { killChildren, spawnChild } from './lib/ipc.mjs';
import { procCpu } from './lib/proc.mjs';
import { renderChart, renderMarkdown } from './lib/report.mjs';
import { measureAuthorize } from './lib/authorize.mjs';
import { measureDialects } from './lib/dialects.mjs';
import { measureRooms } from './lib/rooms.mjs';
import { measureRedisCluster } from './lib/redis-cluster.mjs';
import { comparePerf, perfAvailable, perfShares, startPerf } from './lib/perf.mjs';
import { startRedisServer } from './lib/redis-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const quick = process.argv.includes('--quick');
const perf = process.argv.includes('--perf');
if (perf && !perfAvailable()) throw new Error('--perf needs `perf` on PATH');
/** `--perf`: the cross-node section's on-CPU samples, per setup and round. */
const perfRuns = [];
// Development aids (no docs written): `--only=hub,floor` (or `--only=hub-bun,floor-bun`), `--no-bun`, `--rounds=N`, `--pairs=N`, `--window=N`, `--no-memory`, `--no-relay`, `--no-scale`, `--no-redis`, `--no-http`,
// `--no-redis-cluster`, `--no-socketio-redis`, `--no-authorize`, `--no-rooms`, `--no-dialects` (the sections of issues #19–#21), `--section-rounds=N`, `--cpu-prof=hub,floor` (profiles in bench/profiles/), `--perf-map` (JIT symbols for `perf record`),
// `--perf` (on-CPU samples of the cross-node section's full-load windows compared per symbol, bench/lib/perf.mjs).
const extraSections = ['authorize', 'rooms', 'dialects'];
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const partial =
  ['only', 'rounds', 'pairs', 'window', 'section-rounds'].some((name) => flag(name) !== undefined) ||
  [
    '--no-memory',
    '--no-relay',
    '--no-scale',
    '--no-redis',
    '--no-http',
    '--no-bun',
    '--no-redis-cluster',
    '--no-socketio-redis',
    '--perf-map',
    '--perf',
    ...extraSections.map((x) => `--no-${x}`),
  ].some((name) => process.argv.includes(name));

// `--render`: rebuild docs/BENCHMARKS.md and the chart from docs/benchmarks.json (the last full run's raw numbers).
if (process.argv.includes('--render')) {
  const saved = JSON.parse(readFileSync(join(root, 'docs/benchmarks.json'), 'utf8'));
  writeDocs(saved);
  process.exit(0);
}

function writeDocs(results) {
  const { table, markdown } = renderMarkdown(results);
  console.log('\n' + table);
  writeFileSync(join(root, 'docs/BENCHMARKS.md'), markdown);
  writeFileSync(join(root, 'docs/benchmarks.svg'), renderChart(results.samples));
  console.log('\nWrote docs/BENCHMARKS.md and docs/benchmarks.svg');
}

if (!existsSync(join(here, 'node_modules'))) {
  console.log('Installing the comparison servers into bench/node_modules…');
  execSync('npm --prefix bench install --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
if (!existsSync(join(root, 'dist/ws.js'))) throw new Error('dist/ is missing: run `npm run build` first');

const config = quick
  ? {
      rounds: 1,
      pairs: 128,
      window: 2,
      warmMs: 200,
      measureMs: 300,
      idle: 100,
      scaleSmall: 50,
      scaleBig: 150,
      scaleRounds: 1,
      redisRounds: 1,
      httpRounds: 1,
      authorizeRounds: 1,
      authorizeWarmMs: 200,
      authorizeSettleMs: 200,
      roomsRounds: 1,
      roomsWarmMs: 200,
      roomsSettleMs: 200,
      roomsMeasureMs: 500,
      dialectsRounds: 1,
      dialectsMeasureMs: 500,
    }
  : {
      // Seven rounds: single rounds move by ±15% on a shared 2-core machine, the median much less.
      rounds: 7,
      // 128 pairs → 256 sending connections: at 150k relayed msgs/s each sends ≈ 600 msg/s, under the default limit.
      pairs: 128,
      // Two candidates in flight per pair, as when trickle ICE sends a few at a time.
      window: 2,
      warmMs: 1500,
      measureMs: 4000,
      // Tail latency at half load is decided by rare scheduling stalls: a longer window makes one round's p99 steadier.
      halfMeasureMs: 8000,
      idle: 10_000,
      scaleSmall: 1000,
      // The fd hard limit here is 20000 and cannot be raised (no CAP_SYS_RESOURCE): 19.5k idle + 256 active + the process's own.
      scaleBig: 19_500,
      scaleRounds: 5,
      // Five rounds: the cross-node ratios are judged on medians, and single rounds moved between 1.3× and
      // 2.4× in development runs of the same code here (the two hubs, Redis and the load share two cores).
      redisRounds: 5,
      // A node's cross-node code runs once per batch, not per message, so V8 optimises it seconds later than
      // the relay path: measured after 1.5 s, a third of the hubs' extra CPU was still the JIT compiling it.
      redisWarmMs: 8000,
      // The HTTP fallback row: a reported number, no target; three rounds give a usable median.
      httpRounds: 3,
      // The sections of issues #19–#21 (bench/lib/authorize.mjs, rooms.mjs, dialects.mjs): their own interleaved rounds.
      // #19 and #20 keep their servers for the whole section (about 2 minutes each): a warm-up window per variant,
      // then ABBA rounds of short windows, so JIT state and drift hit both alike. A 4 s window per variant. The
      // hook's effect is a few percent and a single window moves by more: the same hub run as both variants (an
      // A/A run) gave 0.81–1.18× per round, so #19 takes twenty rounds to narrow its median.
      authorizeRounds: 20,
      authorizeWarmMs: 5000,
      authorizeSettleMs: 1000,
      roomsRounds: 10,
      roomsWarmMs: 6000,
      roomsSettleMs: 500,
      roomsMeasureMs: 4000,
      dialectsRounds: 3,
      dialectsMeasureMs: 5000,
    };
for (const key of ['rounds', 'pairs', 'window']) if (flag(key) !== undefined) config[key] = Number(flag(key));
// `--section-rounds=N`: the rounds of the sections of issues #19–#21.
if (flag('section-rounds') !== undefined) for (const x of extraSections) config[`${x}Rounds`] = Number(flag('section-rounds'));
// The hub on Bun and its floor need the `bun` dev dependency; without it their rows are left out.
const bun = process.argv.includes('--no-bun') ? undefined : bunBinary();
if (bun === undefined && !process.argv.includes('--no-bun'))
  console.log('No bun binary (npm install): the rows on Bun.serve are left out.');
// The tutorial server goes first in each round: its capacity sets the half-load rate of the others.
const kinds = ['tutorial', 'hub', 'peerjs', 'hub-peerjs', 'socketio', 'floor', 'hub-bun', 'floor-bun'].filter(
  (k) =>
    (bun !== undefined || !k.endsWith('-bun')) &&
    (flag('only') === undefined || k === 'tutorial' || flag('only').split(',').includes(k)),
);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMicros = (c) => c.user + c.system;

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}
process.on('exit', killChildren);

const load = spawnChild(join(here, 'load.mjs'));
const idle = spawnChild(join(here, 'load.mjs'));

async function startServer(kind) {
  const profile = (flag('cpu-prof') ?? '').split(',').includes(kind)
    ? ['--cpu-prof', `--cpu-prof-dir=bench/profiles/${kind}`, ...(kind.endsWith('-bun') ? ['--cpu-prof-md'] : [])]
    : [];
  if (kind.endsWith('-bun')) {
    // Bun.serve in a Bun process (Bun answers Node's fork() IPC).
    const server = spawnChild(join(here, 'server-bun.mjs'), [kind], profile, bun);
    return { ...server, port: await server.call('port') };
  }
  // `--perf-map`: JIT symbols for `perf record` (on-CPU profiles, the kernel's part included).
  const perfMap = process.argv.includes('--perf-map') || perf ? ['--perf-basic-prof'] : [];
  const server = spawnChild(join(here, 'server.mjs'), [kind], ['--expose-gc', ...profile, ...perfMap]);
  const port = await server.call('port');
  return { ...server, port };
}

/**
 * One relay measurement: warm-up, then server CPU and client counts over the measured window.
 * `server` may be a list (the nodes of a cluster): their CPU is summed.
 */
async function measureRelay(server, kind, { rate, redisPid, warmMs = config.warmMs, perfFile } = {}) {
  const servers = Array.isArray(server) ? server : [server];
  const cpuOf = async () => {
    const all = await Promise.all(servers.map((s) => s.call('cpu')));
    const sum = (key) => all.reduce((n, c) => n + c[key], 0);
    return { user: sum('user'), system: sum('system'), reads: sum('reads'), writes: sum('writes') };
  };
  await load.call('start', { kind, pairs: config.pairs, window: config.window, rate });
  await sleep(warmMs);
  const redis0 = redisPid === undefined ? 0 : procCpu(redisPid);
  const pids = servers.map((s) => s.pid);
  const sampling = perfFile === undefined ? undefined : startPerf(pids, perfFile);
  const [cpu0] = await Promise.all([cpuOf(), load.call('mark')]);
  await sleep(rate === undefined ? config.measureMs : (config.halfMeasureMs ?? config.measureMs));
  const [cpu1, seen] = await Promise.all([cpuOf(), load.call('mark')]);
  await sampling?.stop();
  const redis1 = redisPid === undefined ? 0 : procCpu(redisPid);
  const { lost } = await load.call('stop');
  if (seen.stray > 0) console.warn(`  ${kind}: ${seen.stray} unexpected frames, e.g. ${seen.strayExamples.join(' | ')}`);
  if (lost > 0) console.warn(`  ${kind}: ${lost} relays never came back`);
  return {
    rate: seen.relayed / seen.seconds,
    cpuPerMsg: (cpuMicros(cpu1) - cpuMicros(cpu0)) / seen.relayed,
    // The kernel's part of it (system time: loopback TCP, wake-ups).
    systemCpuPerMsg: (cpu1.system - cpu0.system) / seen.relayed,
    redisCpuPerMsg: ((redis1 - redis0) * 1e6) / seen.relayed,
    readsPerMsg: (cpu1.reads - cpu0.reads) / seen.relayed,
    writesPerMsg: (cpu1.writes - cpu0.writes) / seen.relayed,
    serverBusy: (cpuMicros(cpu1) - cpuMicros(cpu0)) / 1e6 / seen.seconds,
    clientBusy: seen.clientCpu / seen.seconds,
    p50: seen.p50 ?? NaN, // NaN crosses IPC as null
    p99: seen.p99 ?? NaN,
    stray: seen.stray,
  };
}

/** A throwaway redis-server on a free loopback port, or undefined when it cannot be used. */
async function startRedis() {
  if (!existsSync(join(root, 'dist/redis.js'))) return undefined;
  const { RedisBackplane } = await import(join(root, 'dist/redis.js')).catch(() => ({}));
  if (typeof RedisBackplane !== 'function') return undefined;
  return startRedisServer();
}

/** Memory per idle logged-in peer on a fresh server, and the connection+login rate. */
async function measureIdle(server, kind) {
  const before = await server.call('mem');
  const seconds = await idle.call('connectIdle', { kind, port: server.port, from: 0, to: config.idle });
  const after = await server.call('mem');
  await idle.call('close');
  return {
    rssPerPeer: (after.rss - before.rss) / config.idle,
    heapPerPeer: (after.heap - before.heap) / config.idle,
    connectRate: config.idle / seconds,
  };
}

const samples = Object.fromEntries(kinds.map((k) => [k, []]));
const started = Date.now();
try {
  for (let round = 1; round <= config.rounds; round++) {
    let baselineRate;
    for (const kind of kinds) {
      const server = await startServer(kind);
      try {
        const memory = process.argv.includes('--no-memory') ? {} : await measureIdle(server, kind);
        await sleep(300); // let the server finish the idle peers' closes
        if (process.argv.includes('--no-relay')) {
          samples[kind].push(memory);
          console.log(
            `round ${round} ${kind.padEnd(8)} ${(memory.rssPerPeer / 1024).toFixed(2)} KB RSS/peer, ${(memory.heapPerPeer / 1024).toFixed(2)} KB heap/peer`,
          );
          continue;
        }
        await load.call('connectPairs', { kind, port: server.port, pairs: config.pairs });
        const full = await measureRelay(server, kind);
        if (kind === 'tutorial') baselineRate = full.rate;
        const half = await measureRelay(server, kind, { rate: baselineRate / 2 });
        samples[kind].push({ ...memory, ...full, halfP99: half.p99, halfRate: half.rate });
        console.log(
          `round ${round} ${kind.padEnd(8)} ${Math.round(full.rate)} msg/s, ${full.cpuPerMsg.toFixed(2)} µs/msg` +
            ` (server ${(full.serverBusy * 100).toFixed(0)}% / client ${(full.clientBusy * 100).toFixed(0)}% busy,` +
            (Number.isFinite(full.writesPerMsg)
              ? ` ${full.readsPerMsg.toFixed(2)} reads + ${full.writesPerMsg.toFixed(2)} writes per msg),`
              : ' syscalls not counted),') +
            ` p50 ${full.p50.toFixed(2)} p99 ${full.p99.toFixed(2)} ms, half-load p99 ${half.p99.toFixed(2)} ms,` +
            ` ${(memory.rssPerPeer / 1024).toFixed(1)} KB RSS/peer, ${Math.round(memory.connectRate)} logins/s,` +
            ` ${Math.round(full.rate / (2 * config.pairs))} msg/s per connection`,
        );
      } finally {
        await load.call('close');
        await server.stop();
      }
    }
  }

  // How relay cost grows with idle peers (hub, and the tutorial server for reference).
  const scale = { hub: [], tutorial: [] };
  for (let round = 1; round <= (process.argv.includes('--no-scale') ? 0 : config.scaleRounds); round++) {
    for (const kind of Object.keys(scale)) {
      const server = await startServer(kind);
      try {
        await load.call('connectPairs', { kind, port: server.port, pairs: config.pairs });
        await idle.call('connectIdle', { kind, port: server.port, from: 0, to: config.scaleSmall });
        const small = await measureRelay(server, kind);
        const seconds = await idle.call('connectIdle', { kind, port: server.port, from: config.scaleSmall, to: config.scaleBig });
        const big = await measureRelay(server, kind);
        const mem = await server.call('mem');
        scale[kind].push({ small: small.cpuPerMsg, big: big.cpuPerMsg, connectSeconds: seconds, rssBig: mem.rss });
        console.log(
          `scale ${round} ${kind.padEnd(8)} ${config.scaleSmall} idle: ${small.cpuPerMsg.toFixed(2)} µs/msg;` +
            ` ${config.scaleBig} idle: ${big.cpuPerMsg.toFixed(2)} µs/msg;` +
            ` ${config.scaleBig - config.scaleSmall} more peers connected+logged in in ${seconds.toFixed(1)} s, RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB`,
        );
      } finally {
        await Promise.all([load.call('close'), idle.call('close')]);
        await server.stop();
      }
    }
  }

  // Cross-node relay: a<i> on one node, b<i> on another, joined through Redis; one node alone beside it. The hub
  // and socket.io (with @socket.io/redis-adapter), each against itself on one node, in the same run and Redis.
  // Half load: the same offered rate for both setups, half what the two hubs relayed at full load in that round.
  const cluster = { one: [], two: [], linked: [], socketioOne: [], socketioTwo: [], available: false };
  const redis = process.argv.includes('--no-redis') ? undefined : await startRedis();
  if (redis !== undefined) {
    cluster.available = true;
    process.env.BENCH_REDIS_URL = redis.url;
    const socketioRedis =
      !process.argv.includes('--no-socketio-redis') && existsSync(join(here, 'node_modules/@socket.io/redis-adapter'));
    if (!socketioRedis) console.log('No @socket.io/redis-adapter in bench/node_modules: the socket.io rows are left out.');
    /** Relays between a<i> on the first of `count` servers of `kind` and b<i> on the last (one server: both). */
    const relayAcross = async (kind, count, options) => {
      const servers = [];
      for (let i = 0; i < count; i++) servers.push(await startServer(kind));
      try {
        const ports = { port: servers[0].port, portB: servers.at(-1).port };
        await load.call('connectPairs', { kind, ...ports, pairs: config.pairs });
        const warmMs = config.redisWarmMs ?? config.warmMs;
        const perfFile = perf ? join(here, 'profiles', `perf-${kind}-${count}.data`) : undefined;
        const full = await measureRelay(servers, kind, { redisPid: count > 1 ? redis.pid : undefined, warmMs, perfFile });
        if (perfFile !== undefined) perfRuns.push({ kind, shares: perfShares(perfFile), cpuPerMsg: full.cpuPerMsg });
        const rate = options?.halfRate?.(full);
        const half =
          rate === undefined
            ? undefined
            : await measureRelay(servers, kind, { rate, redisPid: count > 1 ? redis.pid : undefined });
        return {
          ...full,
          halfP99: half?.p99 ?? NaN,
          halfRate: half?.rate ?? NaN,
          halfCpuPerMsg: half?.cpuPerMsg ?? NaN,
          halfRedisCpuPerMsg: half?.redisCpuPerMsg ?? NaN,
        };
      } finally {
        await load.call('close');
        await Promise.all(servers.map((s) => s.stop()));
      }
    };
    try {
      for (let round = 1; round <= config.redisRounds; round++) {
        let halfRate;
        const b = await relayAcross('hub-redis', 2, { halfRate: (full) => (halfRate = full.rate / 2) });
        const a = await relayAcross('hub', 1, { halfRate: () => halfRate });
        cluster.two.push(b);
        cluster.one.push(a);
        const total = (r) => r.cpuPerMsg + (r.redisCpuPerMsg || 0);
        // The same two hubs, relaying over node links (`links`): Redis carries names, leases and refusals.
        const l = process.argv.includes('--no-links')
          ? undefined
          : await relayAcross('hub-redis-links', 2, { halfRate: () => halfRate });
        if (l !== undefined) cluster.linked.push(l);
        console.log(
          `redis ${round} one hub ${Math.round(a.rate)} msg/s, ${a.cpuPerMsg.toFixed(2)} µs/msg, p50 ${a.p50.toFixed(2)} p99 ${a.p99.toFixed(2)} ms;` +
            ` two hubs through Redis ${Math.round(b.rate)} msg/s, ${b.cpuPerMsg.toFixed(2)} µs hub CPU + ${b.redisCpuPerMsg.toFixed(2)} µs Redis CPU per msg` +
            ` (${(total(b) / a.cpuPerMsg).toFixed(2)}×), p50 ${b.p50.toFixed(2)} p99 ${b.p99.toFixed(2)} ms;` +
            ` at ${Math.round(halfRate)} msg/s p99 ${a.halfP99.toFixed(2)} ms one hub, ${b.halfP99.toFixed(2)} ms two (${(b.halfP99 / a.halfP99).toFixed(2)}×),` +
            ` CPU ${a.halfCpuPerMsg.toFixed(2)} µs one hub, ${b.halfCpuPerMsg.toFixed(2)} + ${b.halfRedisCpuPerMsg.toFixed(2)} µs two` +
            ` (${((b.halfCpuPerMsg + b.halfRedisCpuPerMsg) / a.halfCpuPerMsg).toFixed(2)}×);` +
            ` system CPU per msg ${a.systemCpuPerMsg.toFixed(2)} µs one hub, ${b.systemCpuPerMsg.toFixed(2)} µs two;` +
            ` read/write syscalls per msg ${a.readsPerMsg.toFixed(2)}/${a.writesPerMsg.toFixed(2)} one hub,` +
            ` ${b.readsPerMsg.toFixed(2)}/${b.writesPerMsg.toFixed(2)} two`,
        );
        if (l !== undefined) {
          console.log(
            `redis ${round} two hubs over node links ${Math.round(l.rate)} msg/s, ${l.cpuPerMsg.toFixed(2)} µs hub CPU + ${l.redisCpuPerMsg.toFixed(2)} µs Redis CPU per msg` +
              ` (${(total(l) / a.cpuPerMsg).toFixed(2)}×), p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ms;` +
              ` at ${Math.round(halfRate)} msg/s p99 ${l.halfP99.toFixed(2)} ms (${(l.halfP99 / a.halfP99).toFixed(2)}×),` +
              ` CPU ${l.halfCpuPerMsg.toFixed(2)} + ${l.halfRedisCpuPerMsg.toFixed(2)} µs (${((l.halfCpuPerMsg + l.halfRedisCpuPerMsg) / a.halfCpuPerMsg).toFixed(2)}×)`,
          );
        }
        if (!socketioRedis) continue;
        const c = await relayAcross('socketio', 1);
        const d = await relayAcross('socketio-redis', 2);
        cluster.socketioOne.push(c);
        cluster.socketioTwo.push(d);
        console.log(
          `redis ${round} socket.io ${Math.round(c.rate)} msg/s, ${c.cpuPerMsg.toFixed(2)} µs/msg; two socket.io through Redis` +
            ` ${Math.round(d.rate)} msg/s, ${d.cpuPerMsg.toFixed(2)} µs + ${d.redisCpuPerMsg.toFixed(2)} µs Redis CPU per msg;` +
            ` hub/socket.io across nodes ${(total(b) / total(d)).toFixed(2)}×`,
        );
      }
      // Each round measures two hubs, then one hub.
      for (const two of perfRuns.filter((r) => r.kind === 'hub-redis')) {
        const one = perfRuns.slice(perfRuns.indexOf(two)).find((r) => r.kind === 'hub');
        if (one !== undefined) console.log('\n' + comparePerf(one.shares, one.cpuPerMsg, two.shares, two.cpuPerMsg) + '\n');
      }
    } finally {
      redis.stop();
    }
  } else {
    console.log('Cross-node relay through Redis skipped: dist/redis.js without RedisBackplane, or no redis-server on PATH.');
  }
  // Redis Cluster (issue #22): two and three hub nodes on a 3-master Redis Cluster (bench/lib/redis-cluster.mjs).
  if (cluster.available && !process.argv.includes('--no-redis-cluster'))
    cluster.redisCluster = await measureRedisCluster({ startServer, load, measureRelay, config });

  // The hub over its HTTP fallback (SSE down, POSTs up) beside its ws adapter: the same server process and
  // options (the fallback is on by default), the same pairs, window and frames; rounds interleaved.
  const http = { ws: [], http: [] };
  for (let round = 1; round <= (process.argv.includes('--no-http') ? 0 : config.httpRounds); round++) {
    for (const [key, kind] of [
      ['ws', 'hub'],
      ['http', 'hub-http'],
    ]) {
      const server = await startServer('hub');
      try {
        await load.call('connectPairs', { kind, port: server.port, pairs: config.pairs });
        http[key].push(await measureRelay(server, kind));
      } finally {
        await load.call('close');
        await server.stop();
      }
    }
    const [a, b] = [http.ws.at(-1), http.http.at(-1)];
    console.log(
      `http ${round} hub over ws ${Math.round(a.rate)} msg/s, ${a.cpuPerMsg.toFixed(2)} µs/msg;` +
        ` hub over its HTTP fallback ${Math.round(b.rate)} msg/s, ${b.cpuPerMsg.toFixed(2)} µs/msg` +
        ` (server ${(b.serverBusy * 100).toFixed(0)}% / client ${(b.clientBusy * 100).toFixed(0)}% busy,` +
        ` ${b.readsPerMsg.toFixed(2)} reads + ${b.writesPerMsg.toFixed(2)} writes per msg), p50 ${b.p50.toFixed(2)} p99 ${b.p99.toFixed(2)} ms`,
    );
  }

  // The sections of issues #19 (relay policy), #20 (rooms over two nodes), #21 (the y-webrtc dialect).
  const extra = {};
  const sectionContext = { startServer, startRedis, load, measureRelay, config };
  for (const [name, measure] of [
    ['authorize', measureAuthorize],
    ['rooms', measureRooms],
    ['dialects', measureDialects],
  ]) {
    if (process.argv.includes(`--no-${name}`)) continue;
    const sectionStarted = Date.now();
    extra[name] = await measure(sectionContext);
    console.log(`(${name}: ${((Date.now() - sectionStarted) / 1000).toFixed(0)} s)`);
  }

  const versions = Object.fromEntries(
    ['peer', 'socket.io', 'ws'].map((p) => [
      p,
      JSON.parse(readFileSync(join(here, 'node_modules', p, 'package.json'), 'utf8')).version,
    ]),
  );
  versions['signalling-hub'] = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const machine = {
    cpus: os.availableParallelism(),
    model: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    load: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    minutes: ((Date.now() - started) / 60000).toFixed(1),
  };
  const results = { samples, scale, cluster, http, ...extra, config, versions, machine };
  if (quick || partial) {
    console.log(
      '\n' +
        renderMarkdown(results).table.replace(
          'Targets (issues #5, #18–#21):',
          'Targets (issues #5, #18–#21), not judged on smoke-run numbers:',
        ),
    );
    console.log('\nSmoke or partial run: docs/ left untouched (smoke-run numbers mean nothing).');
  } else {
    writeFileSync(join(root, 'docs/benchmarks.json'), JSON.stringify(results, null, 1) + '\n');
    writeDocs(results);
  }
} finally {
  await Promise.all([load.stop(), idle.stop()]);
}
