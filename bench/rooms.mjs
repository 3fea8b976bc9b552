// `node bench/rooms.mjs` (after the build): a 100-member room, one sender broadcasting, on one hub and
// spread over two hubs through Redis: hub CPU per delivered message, and the ratio (target ≤ 1.5×).
// A broadcast crosses Redis once per node holding members, so the second node's share costs one
// PUBLISH, not 50. `--quick`: a short smoke run.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { killChildren, spawnChild, track } from './lib/ipc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const members = 100;
const rate = 400; // broadcasts per second → 39,600 deliveries per second
const warmMs = quick ? 300 : 1500;
const measureMs = quick ? 700 : 5000;
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? (quick ? 1 : 3));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
process.on('exit', killChildren);

function procCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  track(child);
  for (let attempt = 0; attempt < 50; attempt++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      setTimeout(() => socket.destroy(), 100);
    });
    if (up) return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill('SIGKILL') };
    await sleep(100);
  }
  throw new Error('redis-server did not start');
}

async function startHub(redisUrl) {
  const env = redisUrl === undefined ? {} : { BENCH_REDIS_URL: redisUrl };
  const saved = process.env.BENCH_REDIS_URL;
  if (redisUrl === undefined) delete process.env.BENCH_REDIS_URL;
  else Object.assign(process.env, env);
  const profile =
    process.env.ROOMS_PROF === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${process.env.ROOMS_PROF}/${redisUrl === undefined ? 'one' : 'two'}`];
  const server = spawnChild(join(here, 'server.mjs'), ['hub-rooms'], ['--expose-gc', ...profile]);
  if (saved === undefined) delete process.env.BENCH_REDIS_URL;
  else process.env.BENCH_REDIS_URL = saved;
  return { ...server, port: await server.call('port') };
}

function member(port, name, counter) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
    socket.once('error', reject);
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'broadcast') counter.delivered++;
      else if (frame.type === 'login') socket.send(JSON.stringify({ type: 'join', room: 'bench' }));
      else if (frame.type === 'join') resolve(socket);
    });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'login', name })));
  });
}

/** One measurement: `members` members over `hubs` (round-robin), member 0 broadcasting at `rate`. */
async function measure(hubs, redisPid) {
  const counter = { delivered: 0 };
  const sockets = [];
  for (let i = 0; i < members; i++) sockets.push(await member(hubs[i % hubs.length].port, `m${i}`, counter));
  const sender = sockets[0];
  const payload = JSON.stringify({ type: 'broadcast', room: 'bench', data: { chat: 'x'.repeat(64) } });
  const perTick = Math.max(1, Math.round(rate / 100));
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) sender.send(payload);
  }, 10);
  await sleep(warmMs);
  const cpus = async () => (await Promise.all(hubs.map((hub) => hub.call('cpu')))).map((c) => c.user + c.system);
  const cpu = async () => (await cpus()).reduce((n, c) => n + c, 0);
  const each0 = await cpus();
  const cpu0 = each0.reduce((n, c) => n + c, 0);
  const redis0 = redisPid === undefined ? 0 : procCpu(redisPid);
  const delivered0 = counter.delivered;
  await sleep(measureMs);
  const each1 = await cpus();
  const cpu1 = each1.reduce((n, c) => n + c, 0);
  const redis1 = redisPid === undefined ? 0 : procCpu(redisPid);
  const delivered = counter.delivered - delivered0;
  clearInterval(timer);
  for (const socket of sockets) socket.close();
  await sleep(200);
  return {
    delivered,
    hubMicrosPerMsg: (cpu1 - cpu0) / delivered,
    /** CPU per node, in µs per delivery of the whole room. */
    perNode: each1.map((c, i) => (c - each0[i]) / delivered),
    redisMicrosPerMsg: ((redis1 - redis0) * 1e6) / delivered,
  };
}

const redis = await startRedis();
const one = [];
const two = [];
for (let round = 1; round <= rounds; round++) {
  const single = [await startHub(undefined)];
  one.push(await measure(single));
  await Promise.all(single.map((hub) => hub.stop()));
  const pair = [await startHub(redis.url), await startHub(redis.url)];
  two.push(await measure(pair, redis.pid));
  await Promise.all(pair.map((hub) => hub.stop()));
  const [a, b] = [one.at(-1), two.at(-1)];
  console.log(
    `rooms ${round}: one hub ${a.hubMicrosPerMsg.toFixed(2)} µs/delivery (${a.delivered});` +
      ` two hubs ${b.hubMicrosPerMsg.toFixed(2)} µs hub (${b.perNode.map((n) => n.toFixed(2)).join(' + ')}) + ${b.redisMicrosPerMsg.toFixed(2)} µs Redis per delivery (${b.delivered})`,
  );
}
redis.stop();
const median = (values) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
const oneCpu = median(one.map((r) => r.hubMicrosPerMsg));
const twoCpu = median(two.map((r) => r.hubMicrosPerMsg + r.redisMicrosPerMsg));
const ratio = twoCpu / oneCpu;
console.log(
  `\n100-member room, one sender: one hub ${oneCpu.toFixed(2)} µs CPU per delivered message; two hubs through Redis` +
    ` ${twoCpu.toFixed(2)} µs (hubs + Redis): ${ratio.toFixed(2)}× (target ≤ 1.5×)`,
);
process.exit(0);
