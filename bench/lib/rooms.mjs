// Rooms (issue #20): a 100-member room, one member broadcasting at a fixed rate, on one hub and
// spread over two hubs joined through Redis (members alternating): hub CPU (and Redis CPU) per
// delivered broadcast. A broadcast crosses Redis once per node holding members, so the second
// node's half of the room costs one message, not 50. The members are plain `ws` clients in this process.
import WebSocket from 'ws';
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

/** One measurement: the members round-robin over `hubs`, member 0 broadcasting. */
async function measure(hubs, config, redisPid) {
  const counter = { delivered: 0 };
  const sockets = [];
  try {
    for (let i = 0; i < ROOM_MEMBERS; i++) sockets.push(await member(hubs[i % hubs.length].port, `m${i}`, counter));
    const sender = sockets[0];
    const payload = JSON.stringify({ type: 'broadcast', room: 'bench', data: { chat: 'x'.repeat(64) } });
    const perTick = Math.max(1, Math.round(ROOM_RATE / 100));
    const timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) sender.send(payload);
    }, 10);
    try {
      await sleep(config.warmMs);
      const redis0 = redisPid === undefined ? 0 : procCpu(redisPid);
      const cpu0 = await serversCpu(hubs);
      const delivered0 = counter.delivered;
      await sleep(config.roomsMeasureMs);
      const cpu1 = await serversCpu(hubs);
      const redis1 = redisPid === undefined ? 0 : procCpu(redisPid);
      const delivered = counter.delivered - delivered0;
      return {
        delivered,
        rate: delivered / (config.roomsMeasureMs / 1000),
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
  } finally {
    await Promise.all(sockets.map((socket) => new Promise((resolve) => (socket.once('close', resolve), socket.terminate()))));
  }
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
  try {
    for (let round = 1; round <= config.roomsRounds; round++) {
      const single = [await startServer('hub-rooms')];
      try {
        result.one.push(await measure(single, config));
      } finally {
        await Promise.all(single.map((hub) => hub.stop()));
      }
      const pair = [await startServer('hub-rooms-redis'), await startServer('hub-rooms-redis')];
      try {
        result.two.push(await measure(pair, config, redis.pid));
      } finally {
        await Promise.all(pair.map((hub) => hub.stop()));
      }
      const [a, b] = [result.one.at(-1), result.two.at(-1)];
      console.log(
        `rooms ${round} one hub ${a.hubCpuPerMsg.toFixed(2)} µs/delivery (${a.delivered}, ${syscalls(a)});` +
          ` two hubs ${b.hubCpuPerMsg.toFixed(2)} µs (${b.perNode.map((n) => n.toFixed(2)).join(' + ')}, ${syscalls(b)})` +
          ` + ${b.redisCpuPerMsg.toFixed(2)} µs Redis per delivery (${b.delivered}):` +
          ` ${((b.hubCpuPerMsg + b.redisCpuPerMsg) / a.hubCpuPerMsg).toFixed(2)}×`,
      );
    }
  } finally {
    redis.stop();
  }
  return result;
}
