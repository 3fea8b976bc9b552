import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import { type HubOptions, SignallingHub, type TransportSession } from '../../src/index.js';
import { type Attachment, attach } from '../../src/ws.js';
import { Prng } from './prng.js';

/**
 * The differential frame fuzzer. The same raw TCP byte streams go to the
 * hub's `attach()` (with its fast frame reader, and with the fast path off)
 * and to a plain `ws` `WebSocketServer` with the same `maxPayload` whose
 * connections are handed to a second hub through ws's public API only (the
 * reference adapter below, a dozen lines). Both hubs answer alike, so the
 * only difference is the adapter, and for each stream the fuzzer compares:
 *
 * - what reached the hub's core, in order (each text message, each binary
 *   message, the close code the adapter reported);
 * - what the client read back, in order (replies parsed as JSON with the
 *   login token blanked, pongs, the close frame's code and reason);
 * - whether the server ended the connection.
 *
 * Any difference is a divergence: the adapter read a stream differently from
 * ws. Streams are random sequences of masked and unmasked, whole and
 * fragmented text and binary frames with interleaved (and oversized,
 * fragmented) control frames, RSV bits, reserved opcodes, minimal and
 * non-minimal 16/64-bit lengths, zero-length frames, invalid UTF-8 (also
 * split across fragments), close frames with good, bad and no codes, data
 * after a close, floods that make the hub close mid-stream (rate limit),
 * written in one piece, in random pieces or a byte at a time, and ending
 * whole, cut at a random byte or (a sweep) cut at every byte in turn.
 */

/** Largest message: small, so that oversized frames and messages (1009) are cheap to make. */
export const MAX_PAYLOAD = 2048;
/**
 * A burst that a stream can exceed: the hub answers `rate-limited` at message 41 and closes with
 * 4429 at 80. The refill (elapsed ms × MIN_VALUE) underflows to exactly 0, so the cut-off falls on
 * the same message in every run whatever the timing (any real refill would move it by one).
 */
const RATE_LIMIT = { messagesPerSecond: Number.MIN_VALUE, burst: 40 };

const hubOptions: HubOptions = { maxMessageBytes: MAX_PAYLOAD, rateLimit: RATE_LIMIT };

// --- Frames ---

interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  /** Masked with this key; `null` sends the frame unmasked. */
  mask: Buffer | null;
  payload: Buffer;
  /** Length field: the minimal one, or a 16/64-bit one even when shorter would do. */
  length?: 'minimal' | 16 | 64;
  /** A length field that lies (larger than the payload that follows). */
  declared?: bigint;
}

function encodeFrame(spec: FrameSpec): Buffer {
  const { payload, mask } = spec;
  const length = spec.declared ?? BigInt(payload.length);
  const form = spec.length ?? 'minimal';
  const size = form === 64 || (form === 'minimal' && length > 65535n) ? 8 : form === 16 || length > 125n ? 2 : 0;
  const header = Buffer.alloc(2 + size);
  header[0] = (spec.fin === false ? 0 : 0x80) | ((spec.rsv ?? 0) << 4) | spec.opcode;
  header[1] = (mask !== null ? 0x80 : 0) | (size === 0 ? Number(length) : size === 2 ? 126 : 127);
  if (size === 2) header.writeUInt16BE(Number(length & 0xffffn), 2);
  if (size === 8) header.writeBigUInt64BE(length & 0xffffffffffffffffn, 2);
  const body = Buffer.from(payload);
  if (mask !== null) for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask ?? Buffer.alloc(0), body]);
}

function describeFrame(spec: FrameSpec): string {
  const bits = `${spec.fin === false ? '' : 'FIN '}${spec.rsv ? `RSV${spec.rsv} ` : ''}op${spec.opcode}`;
  const length =
    spec.declared !== undefined
      ? ` declared=${spec.declared}`
      : spec.length && spec.length !== 'minimal'
        ? ` len${spec.length}`
        : '';
  const shown = spec.payload.length <= 80 ? JSON.stringify(spec.payload.toString('latin1')) : `${spec.payload.length} bytes`;
  return `${bits}${spec.mask === null ? ' unmasked' : ''}${length} ${shown}`;
}

// --- Payloads ---

const INVALID_UTF8 = [
  [0xc3, 0x28],
  [0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf0, 0x9f, 0x98],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
];

function randomString(rng: Prng): string {
  const parts = ['a', 'é', '🦊', '"', '\\', '\n', '\u0000', 'Zoë', ' ', 'x'.repeat(rng.int(40)), '\u2028', '中'];
  let out = '';
  for (let i = rng.int(6); i > 0; i--) out += rng.pick(parts);
  return out;
}

function randomJson(rng: Prng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e21, 123456789, -0.25]);
    case 3:
    case 4:
      return randomString(rng);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--)
        out[rng.pick(['candidate', 'sdp', 'type', '1', 'name', '__proto__'])] = randomJson(rng, depth + 1);
      return out;
    }
  }
}

/** Text as JSON.stringify writes it, or with odd spacing and number forms the scanner must leave to JSON.parse. */
function serialise(rng: Prng, value: object): string {
  const text = JSON.stringify(value);
  if (rng.chance(0.8)) return text;
  return rng.pick([JSON.stringify(value, null, 1), ` ${text} `, text.replace(/:0\b/g, ':0.0'), text.replace(/,/g, ' ,')]);
}

/** One text message for the hub: mostly protocol messages, some malformed, some not JSON. */
function message(rng: Prng, name: string): Buffer {
  const relayType = rng.pick(['offer', 'answer', 'candidate'] as const);
  const text = rng.weighted<() => string>([
    [4, () => serialise(rng, { type: 'login', name })],
    [1, () => serialise(rng, { type: 'login', name: `${name}-other` })],
    [1, () => serialise(rng, { type: 'login', name: rng.pick(['', 'bad\u0000', 'x'.repeat(200)]) })],
    [12, () => serialise(rng, { type: relayType, [relayType]: randomJson(rng), name })],
    [2, () => serialise(rng, { type: 'leave', name })],
    [2, () => serialise(rng, { type: relayType, [relayType]: randomJson(rng), name: 'nobody' })],
    [1, () => serialise(rng, { type: relayType, name })],
    [1, () => serialise(rng, { type: relayType, [relayType]: 1, name: 5 })],
    [1, () => serialise(rng, { type: rng.pick(['dance', 5, null, { a: 1 }]) })],
    [1, () => JSON.stringify({ type: 'candidate', candidate: randomJson(rng), name }).slice(0, -1 - rng.int(5))],
    [1, () => randomString(rng)],
  ])();
  return Buffer.from(text);
}

/** Text bytes with an invalid UTF-8 sequence somewhere in them. */
function invalidUtf8(rng: Prng, name: string): Buffer {
  const valid = message(rng, name);
  const at = rng.int(valid.length + 1);
  return Buffer.concat([valid.subarray(0, at), Buffer.from(rng.pick(INVALID_UTF8)), valid.subarray(at)]);
}

/** Splits `payload` in `parts` pieces at random points (a multi-byte character may be cut: that is valid). */
function split(rng: Prng, payload: Buffer, parts: number): Buffer[] {
  const cuts = Array.from({ length: parts - 1 }, () => rng.int(payload.length + 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, payload.length]) {
    out.push(payload.subarray(from, cut));
    from = cut;
  }
  return out;
}

function closePayload(rng: Prng): Buffer {
  return rng.weighted<() => Buffer>([
    [2, () => Buffer.alloc(0)],
    [4, () => code(rng.pick([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999]))],
    [2, () => Buffer.concat([code(1000), Buffer.from(randomString(rng).slice(0, 40))])],
    [3, () => code(rng.pick([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]))],
    [1, () => Buffer.of(0x03)],
    [1, () => Buffer.concat([code(1000), Buffer.from(rng.pick(INVALID_UTF8))])],
  ])();
}

function code(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

// --- Streams ---

export interface Stream {
  frames: FrameSpec[];
  bytes: Buffer;
  /** Where each frame ends in `bytes`. */
  ends: number[];
}

function maskFor(rng: Prng): Buffer {
  return rng.weighted([
    [18, () => rng.bytes(4)],
    [1, () => Buffer.alloc(4)],
    [1, () => Buffer.alloc(4, 0xff)],
  ])();
}

/** Frames for one step of a stream: usually one frame, several for fragmented messages and floods. */
function step(rng: Prng, name: string, fatal: boolean): FrameSpec[] {
  const m = () => maskFor(rng);
  const control = (): FrameSpec => ({ opcode: rng.pick([9, 10]), mask: m(), payload: rng.bytes(rng.int(20)) });
  const fragments = (opcode: number, payload: Buffer): FrameSpec[] => {
    const parts = split(rng, payload, rng.range(2, 4));
    const out: FrameSpec[] = [];
    parts.forEach((part, i) => {
      out.push({ fin: i === parts.length - 1, opcode: i === 0 ? opcode : 0, mask: m(), payload: part });
      if (i < parts.length - 1 && rng.chance(0.3)) out.push(control());
    });
    return out;
  };
  if (!fatal) {
    return rng.weighted<() => FrameSpec[]>([
      [30, () => [{ opcode: 1, mask: m(), payload: message(rng, name) }]],
      [8, () => fragments(1, message(rng, name))],
      [3, () => [{ opcode: 2, mask: m(), payload: rng.bytes(rng.int(40)) }]],
      [2, () => fragments(2, rng.bytes(rng.int(60)))],
      [5, () => [control()]],
      // Non-minimal lengths: a 16- or 64-bit length field for a short payload (ws accepts them).
      [3, () => [{ opcode: rng.pick([1, 2]), mask: m(), payload: message(rng, name), length: rng.pick([16, 64] as const) }]],
      [1, () => fragments(1, Buffer.alloc(rng.range(MAX_PAYLOAD - 40, MAX_PAYLOAD), 0x61))],
      [1, () => [{ opcode: 1, mask: m(), payload: Buffer.alloc(rng.range(126, MAX_PAYLOAD), 0x62) }]],
      [2, () => [{ opcode: rng.pick([1, 2, 9, 10]), mask: m(), payload: Buffer.alloc(0) }]],
      [
        1,
        () => [
          { fin: false, opcode: 1, mask: m(), payload: Buffer.alloc(0) },
          { fin: false, opcode: 0, mask: m(), payload: message(rng, name) },
          { opcode: 0, mask: m(), payload: Buffer.alloc(0) },
        ],
      ],
      // A flood: past 40 messages the hub answers rate-limited, at 80 it closes the connection mid-stream (4429).
      [
        2,
        () =>
          Array.from({ length: rng.range(20, 90) }, () => ({
            opcode: 1,
            mask: m(),
            payload: Buffer.from(JSON.stringify({ type: 'candidate', candidate: rng.int(1000), name })),
          })),
      ],
    ])();
  }
  // A step after which ws closes the connection (or the client asked it to): what follows is data after the close.
  return rng.weighted<() => FrameSpec[]>([
    [3, () => fragments(1, invalidUtf8(rng, name))],
    [3, () => [{ opcode: 1, mask: m(), payload: invalidUtf8(rng, name) }]],
    [2, () => [{ opcode: rng.pick([8, 9, 10]), mask: m(), payload: rng.bytes(rng.range(126, 200)) }]],
    [
      1,
      () => [{ opcode: rng.pick([8, 9, 10]), mask: m(), payload: rng.bytes(rng.int(10)), length: rng.pick([16, 64] as const) }],
    ],
    [1, () => [{ fin: false, opcode: rng.pick([8, 9, 10]), mask: m(), payload: rng.bytes(4) }]],
    [6, () => [{ opcode: 8, mask: m(), payload: closePayload(rng) }]],
    [2, () => [{ opcode: rng.pick([1, 2, 8, 9]), mask: null, payload: message(rng, name) }]],
    [2, () => [{ rsv: rng.range(1, 7), opcode: rng.pick([1, 2, 9]), mask: m(), payload: message(rng, name) }]],
    [2, () => [{ opcode: rng.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), mask: m(), payload: rng.bytes(rng.int(10)) }]],
    [2, () => [{ opcode: 0, mask: m(), payload: rng.chance(0.3) ? Buffer.alloc(0) : message(rng, name) }]],
    [
      2,
      () => [
        { fin: false, opcode: rng.pick([1, 2]), mask: m(), payload: Buffer.from('{"type":') },
        { opcode: rng.pick([1, 2]), mask: m(), payload: message(rng, name) },
      ],
    ],
    [
      2,
      () => [
        {
          opcode: rng.pick([1, 2, 9]),
          mask: m(),
          payload: rng.bytes(rng.int(8)),
          declared: rng.pick([BigInt(MAX_PAYLOAD + 1), 70000n, 2n ** 32n, 2n ** 53n, 2n ** 63n + 5n]),
        },
      ],
    ],
    [
      2,
      () => [{ opcode: rng.pick([1, 2]), mask: m(), payload: Buffer.alloc(rng.range(MAX_PAYLOAD + 1, MAX_PAYLOAD + 300), 0x61) }],
    ],
    [2, () => fragments(rng.pick([1, 2]), Buffer.alloc(rng.range(MAX_PAYLOAD + 1, MAX_PAYLOAD + 200), 0x61))],
  ])();
}

/**
 * A stream: usually a login first, then random steps that ws accepts, and
 * (in most streams) one step after which the connection closes, followed by
 * a few more steps (data after the close).
 */
export function generateStream(rng: Prng, name: string, steps = rng.range(1, 24)): Stream {
  const frames: FrameSpec[] = [];
  if (rng.chance(0.75))
    frames.push({ opcode: 1, mask: maskFor(rng), payload: Buffer.from(JSON.stringify({ type: 'login', name })) });
  const fatalAt = rng.chance(0.6) ? rng.int(steps) : -1;
  for (let i = 0; i < steps; i++) frames.push(...step(rng, name, i === fatalAt));
  const encoded = frames.map(encodeFrame);
  const ends: number[] = [];
  let at = 0;
  for (const frame of encoded) ends.push((at += frame.length));
  return { frames, bytes: Buffer.concat(encoded), ends };
}

/** How the bytes are written: in one piece, in random pieces, or a byte at a time. */
function chunkPlan(rng: Prng, length: number): number[] {
  const mode =
    length <= 400
      ? rng.weighted([
          [6, 'whole'],
          [3, 'pieces'],
          [1, 'bytes'],
        ] as const)
      : rng.chance(0.7)
        ? 'whole'
        : 'pieces';
  if (mode === 'whole' || length === 0) return [length];
  if (mode === 'bytes') return Array.from({ length }, () => 1);
  const sizes: number[] = [];
  let left = length;
  while (left > 0) {
    const size = Math.min(left, rng.range(1, Math.max(1, Math.ceil(length / 3))));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

// --- Servers ---

export interface Target {
  readonly label: string;
  /** For attach(): whether its fast frame reader is on. */
  readonly fastPath?: boolean;
  readonly port: number;
  /** What reached the core of connection `id`, in order, once the adapter reported the close (or after `waitMs`). */
  received(id: string, waitMs: number): Promise<string[]>;
  close(): Promise<void>;
}

const idOf = (url: string | undefined) => new URL(url ?? '/', 'http://x').searchParams.get('s') ?? '?';

function recording(session: TransportSession, log: string[]): TransportSession {
  return {
    receive(message) {
      log.push(
        `text ${typeof message === 'string' ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString()}`,
      );
      session.receive(message);
    },
    receiveBinary() {
      log.push('binary');
      session.receiveBinary();
    },
    closed(code) {
      log.push(`closed ${code}`);
      session.closed(code);
    },
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * The hub behind `attach()`, its sessions recorded. `maxPayload` other than
 * {@link MAX_PAYLOAD} makes a server that must diverge (the fuzzer's own check).
 */
export async function hubTarget(fastPath: boolean, maxPayload = MAX_PAYLOAD): Promise<Target> {
  const hub = new SignallingHub({ ...hubOptions, maxMessageBytes: maxPayload });
  const logs = new Map<string, string[]>();
  const open = hub.open.bind(hub);
  hub.open = (transport, info) => {
    const log: string[] = [];
    logs.set(idOf(info?.request?.url), log);
    return recording(open(transport, info), log);
  };
  const server = createServer();
  const attachment: Attachment = attach(hub, server, { heartbeatInterval: 0, fastPath });
  if (attachment.fastPath !== fastPath) throw new Error(`attach() fastPath is ${attachment.fastPath}, wanted ${fastPath}`);
  const port = await listen(server);
  return {
    fastPath,
    label: `attach() with the fast path ${fastPath ? 'on' : 'off'}${maxPayload === MAX_PAYLOAD ? '' : `, maxPayload ${maxPayload}`}`,
    port,
    received: (id, waitMs) => take(logs, id, waitMs),
    async close() {
      await attachment.close();
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A plain ws server with the same maxPayload, its connections given to a hub through ws's public API. */
export async function wsTarget(): Promise<Target> {
  const hub = new SignallingHub(hubOptions);
  const logs = new Map<string, string[]>();
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });
  server.on('upgrade', (request: IncomingMessage, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      const log: string[] = [];
      logs.set(idOf(request.url), log);
      const session = recording(
        hub.open({
          send: (message) => ws.send(typeof message === 'string' ? message : Buffer.from(message), { binary: false }),
          close: (code, reason) => ws.close(code, reason),
          terminate: () => ws.terminate(),
          get bufferedAmount() {
            return ws.bufferedAmount;
          },
        }),
        log,
      );
      // After a framing error ws's close event says 1006; the code it closed with is on the error.
      let failedWith: number | undefined;
      ws.on('message', (data, isBinary) => (isBinary ? session.receiveBinary() : session.receive((data as Buffer).toString())));
      ws.on('close', (code) => session.closed(failedWith ?? code));
      ws.on('error', (error) => (failedWith ??= statusCodeOf(error)));
    });
  });
  const port = await listen(server);
  return {
    label: 'a plain ws WebSocketServer',
    port,
    received: (id, waitMs) => take(logs, id, waitMs),
    async close() {
      for (const client of wss.clients) client.terminate();
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The log of connection `id` once it ends with the close report (the server's `close` event may follow the TCP close). */
/** The close code ws attaches to a receiver error (its private `status-code` symbol). */
function statusCodeOf(error: Error): number | undefined {
  const symbol = Object.getOwnPropertySymbols(error).find((key) => key.description === 'status-code');
  const code = symbol === undefined ? undefined : (error as unknown as Record<symbol, unknown>)[symbol];
  return typeof code === 'number' ? code : undefined;
}

async function take(logs: Map<string, string[]>, id: string, waitMs: number): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  const done = () => logs.get(id)?.at(-1)?.startsWith('closed ') === true;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  const log = logs.get(id) ?? ['(no connection)'];
  logs.delete(id);
  return log;
}

// --- The client side ---

export interface Outcome {
  /** What the core got, in order. */
  received: string[];
  /** What the client read back, in order. */
  replies: string[];
  /** `closed` once the server ended the TCP connection; `timeout` if it did not within the time limit. */
  end: 'closed' | 'timeout';
}

function normaliseText(payload: Buffer): string {
  try {
    const value = JSON.parse(payload.toString()) as Record<string, unknown>;
    if (typeof value === 'object' && value !== null && typeof value.token === 'string') value.token = '<token>';
    return `text ${JSON.stringify(value)}`;
  } catch {
    return `text (not JSON) ${payload.toString('hex')}`;
  }
}

/** Server frames read from `data`, as comparable lines. */
function parseServerFrames(data: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (data.length - at >= 2) {
    const opcode = data[at]! & 0x0f;
    let length = data[at + 1]! & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (data.length - at < 4) break;
      length = data.readUInt16BE(at + 2);
      offset = at + 4;
    } else if (length === 127) {
      if (data.length - at < 10) break;
      length = Number(data.readBigUInt64BE(at + 2));
      offset = at + 10;
    }
    if (data.length < offset + length) break;
    const payload = data.subarray(offset, offset + length);
    if (opcode === 1) out.push(normaliseText(payload));
    else if (opcode === 8)
      out.push(
        payload.length >= 2 ? `close ${payload.readUInt16BE(0)} ${JSON.stringify(payload.subarray(2).toString())}` : 'close',
      );
    else out.push(`op${opcode} ${payload.toString('hex')}`);
    at = offset + length;
  }
  if (at < data.length) out.push(`(${data.length - at} bytes of an incomplete frame)`);
  return out;
}

const immediate = () => new Promise((resolve) => setImmediate(resolve));

/** Opens a connection, writes `bytes` in `chunks`, ends the TCP stream and reads until the server closes. */
async function exchange(port: number, id: string, bytes: Buffer, chunks: number[], timeoutMs: number) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  let input = Buffer.alloc(0);
  let head: Buffer | undefined;
  const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
  const upgraded = new Promise<void>((resolve, reject) => {
    socket.on('data', (data: Buffer) => {
      input = Buffer.concat([input, data]);
      if (head !== undefined) return;
      const end = input.indexOf('\r\n\r\n');
      if (end === -1) return;
      head = input.subarray(0, end);
      input = input.subarray(end + 4);
      if (!head.toString().startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${head.toString()}`));
      else resolve();
    });
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET /?s=${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await upgraded;
  let at = 0;
  for (const size of chunks) {
    if (socket.destroyed) break;
    socket.write(bytes.subarray(at, at + size));
    at += size;
    if (chunks.length > 1) await immediate();
  }
  socket.end();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const end = await Promise.race([
    closed,
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  socket.destroy();
  return { replies: parseServerFrames(input), end };
}

/** Sends one byte stream (then FIN) to the reference and to `subjects`, and returns each outcome. */
export async function compareStream(bytes: Buffer, subjects?: () => Promise<Target[]>): Promise<Record<string, Outcome>> {
  const targets = [
    await wsTarget(),
    ...(subjects !== undefined ? await subjects() : [await hubTarget(true), await hubTarget(false)]),
  ];
  try {
    const outcomes: Record<string, Outcome> = {};
    for (const target of targets) {
      const exchanged = await exchange(target.port, 'single', bytes, [bytes.length], 5000);
      outcomes[target.label] = { received: await target.received('single', 5000), ...exchanged };
    }
    return outcomes;
  } finally {
    await Promise.all(targets.map((target) => target.close()));
  }
}

// --- The run ---

export interface Divergence {
  seed: number;
  stream: number;
  /** Bytes the stream was cut to, when it was. */
  cut: number | undefined;
  frames: string[];
  hex: string;
  chunks: number[];
  outcomes: Record<string, Outcome>;
}

export interface FrameFuzzOptions {
  seed: number;
  /** Stop after at least this many frames were sent (to each target). */
  frames: number;
  /** Streams in flight at once. */
  concurrency?: number;
  /** Replay one stream only. */
  only?: number;
  /** Stop at this many divergences. */
  maxDivergences?: number;
  /** ms to wait for the server to close a connection. */
  timeoutMs?: number;
  onProgress?: (result: FrameFuzzResult) => void;
  /**
   * The servers compared with the reference; by default attach() with the
   * fast path and with the fast path off. (A second reference checks the
   * harness itself: it must never diverge.)
   */
  subjects?: () => Promise<Target[]>;
}

export interface FrameFuzzResult {
  seed: number;
  streams: number;
  /** Connection pairs (a cut sweep runs one stream at many cut points). */
  runs: number;
  /** Whole frames written to each target. */
  frames: number;
  bytes: number;
  /** Messages (and close reports) that reached the reference core. */
  delivered: number;
  divergences: Divergence[];
  /** How the reference's connections ended: the server's close code, or `none`. */
  closeCodes: Record<string, number>;
  timeouts: number;
  ms: number;
}

function closeCodeOf(replies: string[]): string {
  const close = replies.find((line) => line.startsWith('close'));
  return close === undefined ? 'none' : (close.split(' ')[1] ?? 'empty');
}

export async function runFrameFuzz(options: FrameFuzzOptions): Promise<FrameFuzzResult> {
  const started = Date.now();
  const reference = await wsTarget();
  const subjects = options.subjects !== undefined ? await options.subjects() : [await hubTarget(true), await hubTarget(false)];
  const result: FrameFuzzResult = {
    seed: options.seed,
    streams: 0,
    runs: 0,
    frames: 0,
    bytes: 0,
    delivered: 0,
    divergences: [],
    closeCodes: {},
    timeouts: 0,
    ms: 0,
  };
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxDivergences = options.maxDivergences ?? 20;
  let next = options.only ?? 0;
  let runId = 0;

  const runOne = async (index: number, stream: Stream, cut: number | undefined, chunks: number[]) => {
    const bytes = cut === undefined ? stream.bytes : stream.bytes.subarray(0, cut);
    const id = `${index}-${runId++}`;
    const targets = [reference, ...subjects];
    const exchanged = await Promise.all(targets.map((target) => exchange(target.port, id, bytes, chunks, timeoutMs)));
    const outcomes: Record<string, Outcome> = {};
    const received = await Promise.all(targets.map((target) => target.received(id, timeoutMs)));
    targets.forEach((target, i) => (outcomes[target.label] = { received: received[i]!, ...exchanged[i]! }));
    const ref = outcomes[reference.label]!;
    result.runs++;
    result.frames += stream.ends.filter((end) => end <= bytes.length).length;
    result.bytes += bytes.length;
    result.delivered += ref.received.length;
    const code = closeCodeOf(ref.replies);
    result.closeCodes[code] = (result.closeCodes[code] ?? 0) + 1;
    for (const outcome of Object.values(outcomes)) if (outcome.end === 'timeout') result.timeouts++;
    const expected = JSON.stringify(ref);
    const differing = subjects.filter((subject) => JSON.stringify(outcomes[subject.label]) !== expected);
    if (differing.length > 0) {
      const divergence = {
        seed: options.seed,
        stream: index,
        cut,
        frames: stream.frames.map(describeFrame),
        hex: bytes.toString('hex'),
        chunks,
        outcomes,
      };
      result.divergences.push(divergence);
    }
  };

  const worker = async () => {
    while (result.frames < options.frames && result.divergences.length < maxDivergences) {
      const index = next++;
      if (options.only !== undefined && index !== options.only) return;
      result.streams++;
      const rng = Prng.forCase(options.seed, index);
      const sweep = rng.chance(0.04);
      const stream = generateStream(rng, `f${index}`, sweep ? rng.range(1, 3) : undefined);
      if (sweep && stream.bytes.length <= 160) {
        // Cut at every byte in turn, the stream ending (FIN) right there: mid-header, mid-mask, mid-payload.
        for (let cut = 0; cut <= stream.bytes.length; cut++) await runOne(index, stream, cut, [cut]);
      } else {
        const cut = rng.chance(0.2) ? rng.int(stream.bytes.length + 1) : undefined;
        const length = cut ?? stream.bytes.length;
        await runOne(index, stream, cut, chunkPlan(rng, length));
      }
      if (result.streams % 200 === 0) options.onProgress?.({ ...result, ms: Date.now() - started });
    }
  };

  try {
    await Promise.all(Array.from({ length: options.only !== undefined ? 1 : (options.concurrency ?? 8) }, worker));
  } finally {
    await Promise.all([reference, ...subjects].map((target) => target.close()));
  }
  result.ms = Date.now() - started;
  return result;
}
