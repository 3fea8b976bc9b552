// The y-webrtc dialect (issue #21) against y-webrtc's own server (bench/servers/y-webrtc.mjs, its
// bin/server.js) and against the hub's own protocol, with plain `ws` clients in this process speaking
// each one's wire. The same shape everywhere: one frame in, two out. y-webrtc: `topics` topics of two
// subscribers, one publishing a signal-sized message (delivered to the other and echoed to itself, as
// bin/server.js does); the hub's own protocol: rooms of three, one member broadcasting the same data to
// the two others. Server CPU per delivered message, rounds interleaved.
import WebSocket from 'ws';
import { serversCpu, sleep } from './proc.mjs';

export const DIALECT_TOPICS = 64;
/** Publishes (broadcasts) per second over every topic: 16,000 deliveries a second. */
export const DIALECT_RATE = 8000;

const signal = JSON.stringify({
  type: 'candidate',
  candidate: {
    candidate:
      'candidate:842163049 1 udp 1677729535 192.0.2.33 52001 typ srflx raddr 10.0.0.7 rport 52001 generation 0 ufrag sEcR network-id 3 network-cost 10',
    sdpMid: '0',
    sdpMLineIndex: 0,
  },
});
/** What a y-webrtc provider publishes to signal a peer (its `data`); the hub's broadcast carries the same. */
const data = `{"to":"b","from":"a","type":"signal","token":0.5,"signal":${signal}}`;

function connect(port) {
  return new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
}

const yWebrtcWire = {
  members: 2,
  /** Resolves once subscribed: the pong that answers the ping sent after the subscribe says it is in place. */
  member(port, topic, _index, counter) {
    return new Promise((resolve, reject) => {
      const socket = connect(port);
      socket.once('error', reject);
      socket.on('message', (bytes) => {
        // `{"type":"pu…`: a publish; `{"type":"po…`: the pong.
        if (bytes[9] === 0x70 && bytes[10] === 0x75) counter.delivered++;
        else if (bytes[9] === 0x70) resolve(socket);
      });
      socket.once('open', () => {
        socket.send(JSON.stringify({ type: 'subscribe', topics: [topic] }));
        socket.send('{"type":"ping"}');
      });
    });
  },
  frame: (topic) => `{"type":"publish","topic":"${topic}","data":${data}}`,
};

const hubWire = {
  members: 3,
  member(port, topic, index, counter) {
    return new Promise((resolve, reject) => {
      const socket = connect(port);
      socket.once('error', reject);
      socket.on('message', (bytes) => {
        // `{"type":"b…` a broadcast, `{"type":"l…` the login reply, `{"type":"join",…` the join reply.
        const c = bytes[9];
        if (c === 0x62) counter.delivered++;
        else if (c === 0x6c) socket.send(`{"type":"join","room":"${topic}"}`);
        else if (c === 0x6a && bytes[13] === 0x22) resolve(socket);
      });
      socket.once('open', () => socket.send(`{"type":"login","name":"${topic}-${index}"}`));
    });
  },
  frame: (topic) => `{"type":"broadcast","room":"${topic}","data":${data}}`,
};

export const DIALECT_KINDS = {
  'y-webrtc': yWebrtcWire,
  'hub-y-webrtc': yWebrtcWire,
  'hub-own': hubWire,
};

async function measure(kind, { startServer, config }) {
  const wire = DIALECT_KINDS[kind];
  const server = await startServer(kind === 'hub-own' ? 'hub' : kind);
  const counter = { delivered: 0 };
  const sockets = [];
  try {
    const senders = [];
    for (let t = 0; t < DIALECT_TOPICS; t++) {
      const topic = `bench-${t}`;
      for (let m = 0; m < wire.members; m++) sockets.push(await wire.member(server.port, topic, m, counter));
      senders.push({ socket: sockets.at(-wire.members), frame: wire.frame(topic) });
    }
    const perTick = Math.max(1, Math.round(DIALECT_RATE / 100));
    let cursor = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const sender = senders[cursor];
        cursor = (cursor + 1) % senders.length;
        sender.socket.send(sender.frame);
      }
    }, 10);
    try {
      await sleep(config.warmMs);
      const cpu0 = await serversCpu([server]);
      const delivered0 = counter.delivered;
      await sleep(config.dialectsMeasureMs);
      const cpu1 = await serversCpu([server]);
      const delivered = counter.delivered - delivered0;
      return {
        delivered,
        rate: delivered / (config.dialectsMeasureMs / 1000),
        cpuPerMsg: (cpu1.total - cpu0.total) / delivered,
        readsPerMsg: (cpu1.reads - cpu0.reads) / delivered,
        writesPerMsg: (cpu1.writes - cpu0.writes) / delivered,
      };
    } finally {
      clearInterval(timer);
    }
  } finally {
    await Promise.all(sockets.map((socket) => new Promise((resolve) => (socket.once('close', resolve), socket.terminate()))));
    await server.stop();
  }
}

const describe = (r) =>
  `${r.cpuPerMsg.toFixed(2)} µs/delivery (${r.delivered}, ${r.readsPerMsg.toFixed(2)} reads + ${r.writesPerMsg.toFixed(2)} writes each)`;

/** `ctx`: run.mjs's `startServer` and `config`. */
export async function measureDialects(ctx) {
  const result = Object.fromEntries(Object.keys(DIALECT_KINDS).map((kind) => [kind, []]));
  for (let round = 1; round <= ctx.config.dialectsRounds; round++) {
    for (const kind of Object.keys(result)) result[kind].push(await measure(kind, ctx));
    const [reference, dialect, own] = Object.values(result).map((runs) => runs.at(-1));
    console.log(
      `dialects ${round} y-webrtc bin/server.js ${describe(reference)}; hub's y-webrtc dialect ${describe(dialect)},` +
        ` ${(dialect.cpuPerMsg / reference.cpuPerMsg).toFixed(2)}×; hub's own protocol ${describe(own)}`,
    );
  }
  return result;
}
