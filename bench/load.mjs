// Load generator: plain `ws` clients speaking each server's own wire format (and, for `hub-http`,
// clients of the hub's HTTP fallback), driven over IPC by run.mjs.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { HttpPeer } from './lib/http-peer.mjs';
import { coalesce, serve } from './lib/ipc.mjs';

const candidate = {
  candidate:
    'candidate:842163049 1 udp 1677729535 192.0.2.33 52001 typ srflx raddr 10.0.0.7 rport 52001 generation 0 ufrag sEcR network-id 3 network-cost 10',
  sdpMid: '0',
  sdpMLineIndex: 0,
  usernameFragment: 'sEcR',
};
const C = JSON.stringify(candidate);

// Per server: where to connect, the login exchange, the frame that relays a candidate to `target`,
// and how a relayed candidate is recognised (by one byte: no parsing on the client side).
const tutorialWire = {
  url: (port) => `ws://127.0.0.1:${port}/`,
  open: (ws, name) => ws.send(`{"type":"login","name":${JSON.stringify(name)}}`),
  loggedIn: (ws, text) => {
    if (text.includes('"success":true')) return true;
    throw new Error(`login refused: ${text}`);
  },
  frame: (target) => `{"type":"candidate","candidate":${C},"name":${JSON.stringify(target)}}`,
  isRelay: (data) => data[9] === 0x63, // {"type":"c
};
const peerjsWire = {
  url: (port, name) => `ws://127.0.0.1:${port}/peerjs?key=peerjs&id=${name}&token=t${name}`,
  open: () => {},
  loggedIn: (ws, text) => {
    if (text.includes('"OPEN"')) return true;
    throw new Error(`peerjs refused: ${text}`);
  },
  frame: (target) =>
    `{"type":"CANDIDATE","payload":{"candidate":${C},"type":"data","connectionId":"dc_bench0001"},"dst":${JSON.stringify(target)}}`,
  isRelay: (data) => data[9] === 0x43, // {"type":"C
};
const wires = {
  hub: tutorialWire,
  // The same hub and frames over its HTTP fallback: a stream down, POSTs up (bench/lib/http-peer.mjs).
  'hub-http': {
    ...tutorialWire,
    connect: (port) => new HttpPeer(port),
    isRelay: (data) => data.charCodeAt(9) === 0x63, // {"type":"c (frames arrive as strings)
  },
  'hub-redis': tutorialWire,
  'hub-redis-links': tutorialWire,
  // The hub with an `authorizeRelay` hook (bench/servers/hub-authorize.mjs).
  'hub-authorize': tutorialWire,
  'hub-bun': tutorialWire,
  tutorial: tutorialWire,
  floor: {
    url: (port, name) => `ws://127.0.0.1:${port}/?p=${name[0] === 'i' ? name : name.slice(1)}`,
    open: () => {},
    loggedIn: () => true,
    frame: tutorialWire.frame,
    isRelay: tutorialWire.isRelay,
    connectedIsLoggedIn: true,
  },
  peerjs: peerjsWire,
  // The same PeerJS clients against the hub's PeerJS dialect (signalling-hub/peerjs).
  'hub-peerjs': peerjsWire,
  socketio: {
    // The raw engine.io v4 / socket.io v5 wire format: 0 open, 40 connect, 42 event, 2 ping → 3 pong.
    url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
    open: () => {},
    loggedIn: (ws, text, name) => {
      if (text[0] === '0') ws.send('40');
      else if (text.startsWith('40')) ws.send(`42["login",${JSON.stringify(name)}]`);
      else if (text === '42["login",true]') return true;
      else if (text !== '2') throw new Error(`socket.io refused: ${text}`);
      if (text === '2') ws.send('3');
      return false;
    },
    frame: (target) => `42["candidate",{"candidate":${C},"name":${JSON.stringify(target)}}]`,
    isRelay: (data) => data[4] === 0x63, // 42["c
    ping: (ws, data) => data.length === 1 && data[0] === 0x32 && (ws.send('3'), true),
  },
};

// The floor on Bun.serve pairs sockets as the floor on Node does.
wires['floor-bun'] = wires.floor;
// socket.io's own clients, the same wire, against two socket.io processes joined through Redis.
wires['socketio-redis'] = wires.socketio;

const text = { binary: false }; // the frames are prebuilt UTF-8 Buffers, sent as text frames
const zeroMask = (mask) => mask.fill(0); // a zero mask makes ws skip masking: cheaper client, same server work
const sockets = new Map(); // name → ws
let connectCount = 0;

function connectOne(wire, port, name) {
  return new Promise((resolve, reject) => {
    const ws =
      wire.connect?.(port) ??
      new WebSocket(wire.url(port, name), {
        perMessageDeflate: false,
        generateMask: zeroMask,
        localAddress: `127.0.0.${2 + (connectCount++ % 16)}`,
      });
    ws.on('error', reject);
    ws.once('open', () => {
      wire.open(ws, name);
      if (wire.connectedIsLoggedIn) return resolve(ws);
    });
    const onLogin = (data) => {
      let done;
      try {
        done = wire.loggedIn(ws, data.toString(), name);
      } catch (error) {
        return reject(error);
      }
      if (!done) return;
      ws.off('message', onLogin);
      resolve(ws);
    };
    if (!wire.connectedIsLoggedIn) ws.on('message', onLogin);
  }).then((ws) => {
    ws.removeAllListeners('error');
    ws.on('error', () => {});
    ws.wire = wire;
    ws.on('message', (data) => onFrame(ws, data));
    sockets.set(name, ws);
    return ws;
  });
}

/**
 * Connects and logs in `names`, `concurrency` at a time; resolves to the seconds it took.
 * With `portB`, the b<i> peers go to that server (the other node of a cluster).
 */
async function connect({ kind, port, portB = port, names, concurrency = 200 }) {
  const wire = wires[kind];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      // portB may list several nodes (a Redis Cluster bench): b<i> goes to the i-th modulo their number.
      const b = Array.isArray(portB) ? portB[Number(name.slice(1)) % portB.length] : portB;
      await connectOne(wire, name[0] === 'b' ? b : port, name);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return (performance.now() - started) / 1000;
}

// ---- relaying -------------------------------------------------------------------------------

let run = undefined; // the relay in progress
let stray = 0;
const strayExamples = [];

function onFrame(ws, data) {
  const pair = ws.pair;
  if (pair === undefined || !run.wire.isRelay(data)) {
    if (ws.wire.ping?.(ws, data)) return;
    stray++;
    if (strayExamples.length < 3) strayExamples.push(data.toString().slice(0, 160));
    return;
  }
  run.received++;
  if (ws === pair.b) {
    corkTick(pair.b);
    pair.b.send(pair.toA, text);
    return;
  }
  const sentAt = pair.times[pair.head++];
  if (pair.head === pair.times.length) pair.head = 0;
  pair.inFlight--;
  if (run.recording) run.rtts.push(performance.now() - sentAt);
  if (run.closedLoop && !run.stopping) send(pair);
}

/** A `ws` socket's frames written in one tick leave in one write (an HTTP peer batches its POSTs itself). */
function corkTick(ws) {
  if (ws._socket !== undefined) coalesce(ws._socket);
}

function send(pair) {
  pair.times[pair.tail++] = performance.now();
  if (pair.tail === pair.times.length) pair.tail = 0;
  pair.inFlight++;
  corkTick(pair.a);
  pair.a.send(pair.toB, text);
}

/**
 * Starts relaying between `pairs` (already connected as a<i>/b<i>). Closed loop: `window`
 * exchanges in flight per pair. Open loop (`rate` relayed msgs/s): exchanges sent on a schedule.
 */
function start({ kind, pairs, window, rate }) {
  const wire = wires[kind];
  const list = [];
  for (let i = 0; i < pairs; i++) {
    const a = sockets.get(`a${i}`);
    const b = sockets.get(`b${i}`);
    const pair = { a, b, toB: Buffer.from(wire.frame(`b${i}`)), toA: Buffer.from(wire.frame(`a${i}`)) };
    pair.times = new Float64Array(4096);
    pair.head = pair.tail = pair.inFlight = 0;
    a.pair = b.pair = pair;
    list.push(pair);
  }
  run = { wire, list, received: 0, rtts: [], recording: false, closedLoop: rate === undefined, stopping: false };
  if (run.closedLoop) {
    for (const pair of list) for (let w = 0; w < window; w++) send(pair);
    return;
  }
  // Each exchange is two relays (a→b, b→a). A 1 ms timer sends what the schedule owes.
  const perMs = rate / 2 / 1000;
  const t0 = performance.now();
  let sent = 0;
  let cursor = 0;
  run.timer = setInterval(() => {
    const due = Math.floor((performance.now() - t0) * perMs) - sent;
    for (let i = 0; i < due; i++) {
      const pair = list[cursor];
      cursor = (cursor + 1) % list.length;
      if (pair.inFlight < 4000) send(pair);
      sent++;
    }
  }, 1);
}

let markedAt = 0;
let markedCpu = process.cpuUsage();

/** Starts (or restarts) the measured window; returns what the previous window saw. */
function mark() {
  const now = performance.now();
  const cpu = process.cpuUsage(markedCpu);
  const rtts = run.rtts.sort((x, y) => x - y);
  const pick = (q) => (rtts.length === 0 ? NaN : rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))]);
  const result = {
    seconds: (now - markedAt) / 1000,
    relayed: run.received,
    p50: pick(0.5),
    p99: pick(0.99),
    clientCpu: (cpu.user + cpu.system) / 1e6,
    stray,
    strayExamples: strayExamples.splice(0),
  };
  run.received = 0;
  run.rtts = [];
  run.recording = true;
  stray = 0;
  markedAt = now;
  markedCpu = process.cpuUsage();
  return result;
}

/** Stops sending and waits (up to 5 s) for the frames in flight, so the next phase starts quiet. */
async function stop() {
  run.stopping = true;
  clearInterval(run.timer);
  const until = performance.now() + 5000;
  while (run.list.some((p) => p.inFlight > 0) && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const lost = run.list.reduce((n, p) => n + p.inFlight, 0);
  for (const pair of run.list) pair.a.pair = pair.b.pair = undefined;
  return { lost };
}

/** Closes every socket (or only those whose name starts with `prefix`). */
async function close({ prefix = '' } = {}) {
  const closing = [];
  for (const [name, ws] of sockets) {
    if (!name.startsWith(prefix)) continue;
    sockets.delete(name);
    if (ws.readyState === WebSocket.CLOSED) continue;
    closing.push(new Promise((resolve) => ws.once('close', resolve)));
    ws.terminate();
  }
  await Promise.all(closing);
}

const names = (prefix, from, to) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

serve({
  connectPairs: ({ kind, port, portB, pairs }) =>
    connect({ kind, port, portB, names: names('a', 0, pairs).flatMap((a, i) => [a, `b${i}`]) }),
  connectIdle: ({ kind, port, from, to }) => connect({ kind, port, names: names('i', from, to) }),
  start,
  mark,
  stop,
  close,
});
