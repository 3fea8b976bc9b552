import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { RedisBackplane } from '../../src/redis.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * The soak: `cycles` times, a real `ws` client connects over loopback, logs
 * in, sends an offer to an anchor peer (which opens a call, so its close
 * sends the anchor `leave`) and closes, half of them cleanly and half
 * abruptly (a TCP reset, no closing handshake). With two nodes, clients
 * alternate between the nodes and always call the anchor on the other node,
 * so every relay and every `leave` crosses Redis.
 *
 * It measures the heap after GC at the start (after a warm-up) and at the
 * end, the relay latency (offer sent → anchor received) over the first and
 * the last 5 % of the cycles, and checks that nothing is left: no peers, no
 * sockets, no timers, no Redis keys, every offer and every leave delivered.
 * Run it in a process started with `--expose-gc` (scripts/soak.mjs does).
 */

export interface SoakOptions {
  cycles: number;
  nodes: 1 | 2;
  /** Cycles in flight at once. */
  concurrency?: number;
  onProgress?: (done: number, ms: number) => void;
}

export interface SoakResult {
  cycles: number;
  nodes: number;
  ms: number;
  /** Heap used after a full GC, after the warm-up and after the last cycle (bytes). */
  heapStart: number;
  heapEnd: number;
  /** heapEnd / heapStart. */
  heapRatio: number;
  /** Heap after GC at the end of each tenth of the measured cycles. */
  heapSamples: number[];
  /** Relay latency in ms over the first and the last 5 % of the measured cycles. */
  relayStart: { p50: number; p99: number };
  relayEnd: { p50: number; p99: number };
  offersDelivered: number;
  leavesDelivered: number;
  /** Left at the end with the anchors still connected, compared to the same point after the warm-up. */
  steadyResources: { start: Record<string, number>; end: Record<string, number> };
  /** Peers and connections the hubs still had before the anchors left (the anchors only: 1 per node). */
  peersLeft: number;
  connectionsLeft: number;
  /** Resources of the process after shutdown compared to before the hubs started. */
  resourcesBefore: Record<string, number>;
  resourcesAfter: Record<string, number>;
  /** Keys under the test's prefix in Redis after the nodes closed (two nodes only). */
  redisKeysLeft: number;
}

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with node --expose-gc');
  collect();
  collect();
};

function heapAfterGc(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Timers and sockets keeping the process alive, by kind (file and stdio handles left out). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'TTYWrap' || kind === 'FSReqCallback' || kind === 'PipeWrap' || kind === 'FileHandle' || kind === 'CloseReq')
      continue;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A logged-in anchor peer that counts what it receives and resolves waiting senders. */
class Anchor {
  offers = 0;
  leaves = 0;
  readonly waiting = new Map<string, () => void>();
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; name: string };
      if (frame.type === 'offer') {
        this.offers++;
        const resolve = this.waiting.get(frame.name);
        this.waiting.delete(frame.name);
        resolve?.();
      } else if (frame.type === 'leave') this.leaves++;
    });
  }

  static async connect(url: string, name: string): Promise<Anchor> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const reply = new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(data.toString())));
    socket.send(JSON.stringify({ type: 'login', name }));
    if (!(await reply).includes('"success":true')) throw new Error(`anchor ${name} could not log in`);
    return new Anchor(socket);
  }

  received(name: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(name, resolve));
  }
}

/** One cycle: connect, log in, offer to the anchor (timed), close cleanly or abruptly. */
async function cycle(url: string, anchor: Anchor, anchorName: string, i: number): Promise<number> {
  const name = `soak-${i}`;
  const socket = new WebSocket(url);
  socket.on('error', () => {});
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const reply = new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(data.toString())));
  socket.send(JSON.stringify({ type: 'login', name }));
  if (!(await reply).includes('"success":true')) throw new Error(`cycle ${i}: login refused`);
  const received = anchor.received(name);
  const sent = performance.now();
  socket.send(JSON.stringify({ type: 'offer', offer: { type: 'offer', sdp: `v=0 ${i}` }, name: anchorName }));
  await received;
  const latency = performance.now() - sent;
  const closed = new Promise((resolve) => socket.once('close', resolve));
  if (i % 2 === 0) socket.close(1000);
  else socket.terminate();
  await closed;
  return latency;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { cycles, nodes } = options;
  const concurrency = options.concurrency ?? 16;
  const resourcesBefore = resources();
  const redis = nodes === 2 ? await RedisServer.start() : undefined;
  const keyPrefix = `soak${process.pid}:`;
  const servers: HubServer[] = [];
  for (let n = 0; n < nodes; n++) {
    servers.push(
      await startHubServer(
        redis === undefined
          ? {}
          : { backplane: new RedisBackplane({ url: redis.url, keyPrefix, leaseTtl: 3000, heartbeatInterval: 500 }) },
      ),
    );
  }
  await Promise.all(servers.map((server) => server.hub.ready));
  const anchors = await Promise.all(servers.map((server, n) => Anchor.connect(server.url, `anchor-${n}`)));
  // Client i connects to node i % nodes and calls the anchor of the other node (of its own, with one node).
  const target = (i: number) => (nodes === 2 ? 1 - (i % 2) : 0);

  // Long enough for the JIT and the heap to settle: a tenth of a long run, a third (at most 1,000) of a short one.
  const warmup = cycles >= 10_000 ? Math.floor(cycles / 10) : Math.min(1000, Math.floor(cycles / 3));
  const window = Math.max(100, Math.floor((cycles - warmup) / 20));
  const latencies = new Array<number>(cycles).fill(NaN);
  let next = 0;
  let done = 0;
  const started = Date.now();
  const worker = async (end: number) => {
    while (next < end) {
      const i = next++;
      const t = target(i);
      latencies[i] = await cycle(servers[i % nodes]!.url, anchors[t]!, `anchor-${t}`, i);
      done++;
      if (done % 10_000 === 0) options.onProgress?.(done, Date.now() - started);
    }
  };
  const run = (end: number) => Promise.all(Array.from({ length: concurrency }, () => worker(end)));
  const quiet = async () => {
    // Every client is gone when the hubs hold the anchors only and every leave has arrived.
    await until(
      () => servers.every((server) => server.hub.size === 1 && server.attachment.connections === 1),
      'the hubs to let go',
    );
    await until(() => anchors.reduce((sum, a) => sum + a.leaves, 0) === done, `${done} leaves`);
  };

  await run(warmup);
  await quiet();
  const steadyStart = resources();
  const heapStart = heapAfterGc();
  // Ten segments, each ending quiet, with the heap after GC at the end of each: a leak grows steadily.
  const heapSamples: number[] = [];
  for (let segment = 1; segment <= 10; segment++) {
    await run(warmup + Math.round(((cycles - warmup) * segment) / 10));
    await quiet();
    if (segment < 10) heapSamples.push(heapAfterGc());
  }
  const steadyEnd = resources();
  const heapEnd = heapAfterGc();
  heapSamples.push(heapEnd);
  const peersLeft = servers.reduce((sum, server) => sum + server.hub.size, 0) - nodes;
  const connectionsLeft = servers.reduce((sum, server) => sum + server.attachment.connections, 0) - nodes;
  const offersDelivered = anchors.reduce((sum, a) => sum + a.offers, 0);
  const leavesDelivered = anchors.reduce((sum, a) => sum + a.leaves, 0);

  for (const anchor of anchors) anchor.socket.close(1000);
  await until(() => servers.every((server) => server.hub.size === 0), 'the anchors to leave');
  await Promise.all(servers.map((server) => server.close()));
  let redisKeysLeft = 0;
  if (redis !== undefined) {
    // An inline command answers undefined when Redis is slow to answer (a loaded machine): ask again.
    let reply: string | undefined;
    for (let attempt = 0; attempt < 5 && reply === undefined; attempt++) reply = await redis.command(`KEYS {${keyPrefix}}*`);
    redisKeysLeft = Number(/^\*(\d+)/.exec(reply ?? '')?.[1] ?? NaN);
    await redis.dispose();
  }
  // Closed sockets and finished timers leave the loop within a few turns; wait for that (with a deadline)
  // rather than for a fixed time, and report what is left if they do not.
  const same = (a: Record<string, number>, b: Record<string, number>) => JSON.stringify(a) === JSON.stringify(b);
  await until(() => same(resources(), resourcesBefore), 'the resources of the run to go', 5000).catch(() => {});
  const measured = latencies.slice(warmup);
  const ms = Date.now() - started;
  return {
    cycles,
    nodes,
    ms,
    heapStart,
    heapEnd,
    heapRatio: heapEnd / heapStart,
    heapSamples,
    relayStart: { p50: round(percentile(measured.slice(0, window), 50)), p99: round(percentile(measured.slice(0, window), 99)) },
    relayEnd: { p50: round(percentile(measured.slice(-window), 50)), p99: round(percentile(measured.slice(-window), 99)) },
    offersDelivered,
    leavesDelivered,
    steadyResources: { start: steadyStart, end: steadyEnd },
    peersLeft,
    connectionsLeft,
    resourcesBefore,
    resourcesAfter: resources(),
    redisKeysLeft,
  };
}
