// Rooms (issue #20): a 100-member room, one member broadcasting at a fixed rate, on one hub and
// spread over two hubs joined through Redis (members alternating): hub CPU (and Redis CPU) per
// delivered broadcast. A broadcast crosses Redis once per node holding members, so the second
// node's half of the room costs one message, not 50. The members are plain `ws` clients in this process.
// Both setups live for the whole section with their rooms joined: one warm-up window each (a node's
// cross-node code runs once per batch, so V8 optimises it seconds after the local path), then short
// windows in ABBA order (one, two, two, one, …), each pair of adjacent windows one round.
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { coalesce } from './ipc.mjs';
import { procCpu, serversCpu, sleep } from './proc.mjs';

export const ROOM_MEMBERS = 100;
/** Broadcasts per second: 39,600 deliveries a second in a room of 100. */
export const ROOM_RATE = 400;

function member(port, name, counter) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    socket.once('error', reject);
    socket.on('message', (data) => {
      // By bytes: `{"type":"b…` a broadcast, `{"type":"l…` the login reply, `{"type":"join",…` the join reply.
      const c = data[9];
      if (c === 0x62) counter.delivered++;
      else if (c === 0x6c) {
        if (!data.includes('"success":true')) reject(new Error(`login refused: ${data}`));
        else socket.send('{"type":"join","room":"bench"}');
      } else if (c === 0x6a && data[13] === 0x22) {
        if (!data.includes('"success":true')) reject(new Error(`join refused: ${data}`));
        else resolve(socket);
      }
    });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'login', name })));
  });
}

/** Redis's CPU seconds from `INFO cpu` (getrusage, to the microsecond); `undefined` without `redis-cli`. */
function infoCpu(url) {
  try {
    const info = execFileSync('redis-cli', ['-u', url, 'INFO', 'cpu'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const field = (name) => Number(info.match(new RegExp(`^${name}:([0-9.]+)`, 'm'))?.[1]);
    const seconds = field('used_cpu_sys') + field('used_cpu_user');
    return Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Redis's CPU seconds: over a 4 s window Redis uses a few of /proc's 10 ms ticks, so counting ticks alone
 * would move its share by ±25%; `INFO cpu` is exact. /proc when `redis-cli` is missing.
 */
function redisCpuOf(redis) {
  if (infoCpu(redis.url) !== undefined) return () => infoCpu(redis.url);
  return () => procCpu(redis.pid);
}

/** A room of ROOM_MEMBERS over `hubs` (round-robin), member 0 the sender; it broadcasts only in `window`. */
async function setup(hubs, redisCpu) {
  const counter = { delivered: 0 };
  const sockets = [];
  for (let i = 0; i < ROOM_MEMBERS; i++) sockets.push(await member(hubs[i % hubs.length].port, `m${i}`, counter));
  const payload = JSON.stringify({ type: 'broadcast', room: 'bench', data: { chat: 'x'.repeat(64) } });
  const perTick = Math.max(1, Math.round(ROOM_RATE / 100));
  let sent = 0;
  /** Broadcasts for `settleMs`, then measures `measureMs`; then waits until every broadcast sent is delivered. */
  const window = async (settleMs, measureMs) => {
    const timer = setInterval(() => {
      // One write per tick, as load.mjs sends: how a burst is split over the hub's reads must not depend on scheduling.
      coalesce(sockets[0]._socket);
      for (let i = 0; i < perTick; i++) sockets[0].send(payload);
      sent += perTick;
    }, 10);
    let measured;
    try {
      await sleep(settleMs);
      const redis0 = redisCpu?.() ?? 0;
      const cpu0 = await serversCpu(hubs);
      const delivered0 = counter.delivered;
      await sleep(measureMs);
      const cpu1 = await serversCpu(hubs);
      const redis1 = redisCpu?.() ?? 0;
      const delivered = counter.delivered - delivered0;
      measured = {
        delivered,
        rate: delivered / (measureMs / 1000),
        hubCpuPerMsg: (cpu1.total - cpu0.total) / delivered,
        /** Each node's CPU, in µs per delivery of the whole room. */
        perNode: cpu1.each.map((c, i) => (c - cpu0.each[i]) / delivered),
        redisCpuPerMsg: ((redis1 - redis0) * 1e6) / delivered,
        readsPerMsg: (cpu1.reads - cpu0.reads) / delivered,
        writesPerMsg: (cpu1.writes - cpu0.writes) / delivered,
        writesPerNode: cpu1.eachWrites.map((w, i) => (w - cpu0.eachWrites[i]) / delivered),
      };
    } finally {
      clearInterval(timer);
    }
    // Quiet before the other setup's window: every broadcast sent has reached the other members (5 s at most).
    const until = Date.now() + 5000;
    while (counter.delivered < sent * (ROOM_MEMBERS - 1) && Date.now() < until) await sleep(20);
    const missing = sent * (ROOM_MEMBERS - 1) - counter.delivered;
    if (missing > 0) console.warn(`  rooms: ${missing} deliveries missing after the window`);
    return measured;
  };
  const close = () =>
    Promise.all(sockets.map((socket) => new Promise((resolve) => (socket.once('close', resolve), socket.terminate()))));
  return { window, close };
}

const syscalls = (r) => `${r.readsPerMsg.toFixed(3)} reads + ${r.writesPerNode.map((w) => w.toFixed(3)).join(' + ')} writes each`;

/** `ctx`: run.mjs's `startServer`, `startRedis` and `config`; `undefined` without Redis. */
export async function measureRooms({ startServer, startRedis, config }) {
  const redis = await startRedis();
  if (redis === undefined) {
    console.log('Rooms over two nodes skipped: no redis-server on PATH, or dist/redis.js without RedisBackplane.');
    return undefined;
  }
  process.env.BENCH_ROOMS_REDIS_URL = redis.url;
  const result = { one: [], two: [] };
  const hubs = [];
  const rooms = {};
  try {
    const single = [await startServer('hub-rooms')];
    const pair = [await startServer('hub-rooms-redis'), await startServer('hub-rooms-redis')];
    hubs.push(...single, ...pair);
    rooms.one = await setup(single);
    rooms.two = await setup(pair, redisCpuOf(redis));
    // Equal JIT warmth: each setup broadcasts before anything is kept.
    await rooms.one.window(config.roomsWarmMs, config.roomsMeasureMs);
    await rooms.two.window(config.roomsWarmMs, config.roomsMeasureMs);
    for (let round = 1; round <= config.roomsRounds; round++) {
      const order = round % 2 === 1 ? ['one', 'two'] : ['two', 'one'];
      for (const key of order) result[key].push(await rooms[key].window(config.roomsSettleMs, config.roomsMeasureMs));
      const [a, b] = [result.one.at(-1), result.two.at(-1)];
      console.log(
        `rooms ${round} one hub ${a.hubCpuPerMsg.toFixed(2)} µs/delivery (${a.delivered}, ${syscalls(a)});` +
          ` two hubs ${b.hubCpuPerMsg.toFixed(2)} µs (${b.perNode.map((n) => n.toFixed(2)).join(' + ')}, ${syscalls(b)})` +
          ` + ${b.redisCpuPerMsg.toFixed(2)} µs Redis per delivery (${b.delivered}):` +
          ` ${((b.hubCpuPerMsg + b.redisCpuPerMsg) / a.hubCpuPerMsg).toFixed(2)}×`,
      );
    }
  } finally {
    await Promise.all(Object.values(rooms).map((room) => room.close()));
    await Promise.all(hubs.map((hub) => hub.stop()));
    redis.stop();
  }
  return result;
}
