// `node bench/y-webrtc.mjs` (after the build): y-webrtc's own server (bench/servers/y-webrtc.mjs, its
// bin/server.js) against the hub's y-webrtc dialect, with the same raw y-webrtc clients: `topics`
// topics of two subscribers each, one publishing a signal-sized message at a fixed rate (each publish
// is two deliveries: the other subscriber and the echo). Server CPU per delivered message, and the
// ratio. `--quick`: a short smoke run.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { killChildren, spawnChild } from './lib/ipc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const topics = 64;
const rate = 8000; // publishes per second over every topic → 16,000 deliveries per second
const warmMs = quick ? 300 : 1500;
const measureMs = quick ? 700 : 5000;
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? (quick ? 1 : 3));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
process.on('exit', killChildren);

const signal = JSON.stringify({
  type: 'candidate',
  candidate: {
    candidate:
      'candidate:842163049 1 udp 1677729535 192.0.2.33 52001 typ srflx raddr 10.0.0.7 rport 52001 generation 0 ufrag sEcR network-id 3 network-cost 10',
    sdpMid: '0',
    sdpMLineIndex: 0,
  },
});

function client(port, topic, counter) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    socket.once('error', reject);
    socket.on('message', (data) => {
      // `{"type":"p…`: a publish; the pong that answers the subscribe's ping says it is in place.
      if (data[9] === 0x70 && data[10] === 0x75) counter.delivered++;
      else if (data[9] === 0x70) resolve(socket);
    });
    socket.once('open', () => {
      socket.send(JSON.stringify({ type: 'subscribe', topics: [topic] }));
      socket.send('{"type":"ping"}');
    });
  });
}

async function measure(kind) {
  const server = spawnChild(join(here, 'server.mjs'), [kind], ['--expose-gc']);
  const port = await server.call('port');
  const counter = { delivered: 0 };
  const senders = [];
  for (let t = 0; t < topics; t++) {
    const topic = `bench-${t}`;
    senders.push({
      socket: await client(port, topic, counter),
      frame: `{"type":"publish","topic":"${topic}","data":{"to":"b","from":"a","type":"signal","token":0.5,"signal":${signal}}}`,
    });
    await client(port, topic, counter);
  }
  // The ping barrier says the subscribe was handled; a cluster-less hub answers joins at once.
  const perTick = Math.max(1, Math.round(rate / 100));
  let cursor = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      const sender = senders[cursor];
      cursor = (cursor + 1) % senders.length;
      sender.socket.send(sender.frame);
    }
  }, 10);
  await sleep(warmMs);
  const cpu = async () => {
    const c = await server.call('cpu');
    return c.user + c.system;
  };
  const cpu0 = await cpu();
  const delivered0 = counter.delivered;
  await sleep(measureMs);
  const cpu1 = await cpu();
  const delivered = counter.delivered - delivered0;
  clearInterval(timer);
  await server.stop();
  return { delivered, micros: (cpu1 - cpu0) / delivered };
}

const results = { 'y-webrtc': [], 'hub-y-webrtc': [] };
for (let round = 1; round <= rounds; round++) {
  for (const kind of Object.keys(results)) results[kind].push(await measure(kind));
  const [reference, hub] = [results['y-webrtc'].at(-1), results['hub-y-webrtc'].at(-1)];
  console.log(
    `y-webrtc ${round}: bin/server.js ${reference.micros.toFixed(2)} µs/delivery (${reference.delivered});` +
      ` hub dialect ${hub.micros.toFixed(2)} µs/delivery (${hub.delivered})`,
  );
}
const median = (values) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
const reference = median(results['y-webrtc'].map((r) => r.micros));
const hub = median(results['hub-y-webrtc'].map((r) => r.micros));
console.log(
  `\n${topics} topics of two subscribers, ${rate} publishes/s: y-webrtc's bin/server.js ${reference.toFixed(2)} µs CPU per delivered message;` +
    ` signalling-hub's y-webrtc dialect ${hub.toFixed(2)} µs: ${(hub / reference).toFixed(2)}×`,
);
process.exit(0);
