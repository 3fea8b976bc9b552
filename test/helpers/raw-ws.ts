import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** A frame the server sent (servers do not mask). */
export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/**
 * A WebSocket client over a plain TCP socket, for tests that need frames no
 * library would send: cut at any byte, unmasked, with bad bits or bad UTF-8.
 */
export class RawWsClient {
  readonly frames: ServerFrame[] = [];
  readonly ended: Promise<void>;
  private buffered = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
  }

  /** Opens a TCP connection to `port` and completes the WebSocket handshake on `path`. */
  static async connect(port: number, path = '/'): Promise<RawWsClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const rest = await new Promise<Buffer>((resolve, reject) => {
      let head = Buffer.alloc(0);
      const onData = (data: Buffer) => {
        head = Buffer.concat([head, data]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!status.includes(' 101 ')) reject(new Error(`handshake refused: ${status}`));
        else resolve(head.subarray(end + 4));
      };
      socket.on('data', onData);
    });
    const client = new RawWsClient(socket);
    socket.on('data', (data: Buffer) => client.onData(data));
    if (rest.length > 0) client.onData(rest);
    return client;
  }

  /**
   * One client frame: FIN and `opcode` in the first byte unless `first` overrides it,
   * masked with `mask` (a zero-length mask sends it unmasked).
   */
  static frame(
    this: void,
    payload: string | Buffer,
    { opcode = 1, first, mask = randomBytes(4) }: { opcode?: number; first?: number; mask?: Buffer } = {},
  ): Buffer {
    const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const length = data.length;
    const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
    const header = Buffer.alloc(2 + extended);
    header[0] = first ?? 0x80 | opcode;
    header[1] = (mask.length === 4 ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
    if (extended === 2) header.writeUInt16BE(length, 2);
    if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
    const body = Buffer.from(data);
    if (mask.length === 4) for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i % 4]!;
    return Buffer.concat([header, mask.length === 4 ? mask : Buffer.alloc(0), body]);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes `bytes` one at a time, each in its own TCP segment as far as the OS allows. */
  async trickle(bytes: Buffer): Promise<void> {
    for (const byte of bytes) {
      this.socket.write(Buffer.of(byte));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** The next server frame, waiting for it if needed. */
  async next(timeoutMs = 5000): Promise<ServerFrame> {
    const until = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (Date.now() > until) throw new Error('no frame from the server');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames.shift()!;
  }

  /** The next text frame, parsed as JSON. */
  async nextJson(): Promise<Record<string, unknown>> {
    const frame = await this.next();
    if (frame.opcode !== 1) throw new Error(`expected a text frame, got opcode ${frame.opcode}`);
    return JSON.parse(frame.payload.toString()) as Record<string, unknown>;
  }

  /** Waits for the server's close frame and returns its code. */
  async closeCode(timeoutMs?: number): Promise<number> {
    return (await this.closeFrame(timeoutMs)).code;
  }

  /** Waits for the server's close frame and returns its code and reason. */
  async closeFrame(timeoutMs?: number): Promise<{ code: number; reason: string }> {
    for (;;) {
      const frame = await this.next(timeoutMs);
      if (frame.opcode === 8) return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString() };
    }
  }

  /**
   * Reads at about `bytesPerSecond` from now on: the TCP socket is paused
   * whenever it is ahead of that rate, so the server's queue to it grows as
   * it would for a client on a slow link.
   */
  readAtMost(bytesPerSecond: number): void {
    const start = Date.now();
    let read = 0;
    this.socket.on('data', (data: Buffer) => {
      read += data.length;
      const ahead = (read / bytesPerSecond) * 1000 - (Date.now() - start);
      if (ahead <= 0) return;
      this.socket.pause();
      setTimeout(() => this.socket.resume(), ahead);
    });
  }

  /** Stops reading at the TCP level (the kernel buffers fill, then the server's queue grows). */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  private onData(data: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, data]);
    for (;;) {
      const b = this.buffered;
      if (b.length < 2) break;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) break;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) break;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) break;
      this.frames.push({ opcode: b[0]! & 0x0f, payload: b.subarray(offset, offset + length) });
      this.buffered = b.subarray(offset + length);
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** The server's answer to an upgrade request for `target` (any request-target: a path, `//x`, `http://host/x`). */
export interface UpgradeAnswer {
  /** The status line, or '' if the server closed without answering. */
  readonly status: string;
  /** Resolves once the server has closed the connection. */
  readonly closed: Promise<void>;
}

/** Sends a WebSocket upgrade request for `target` over a plain TCP socket and waits for the status line. */
export async function requestUpgrade(port: number, target: string, timeoutMs = 5000): Promise<UpgradeAnswer> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const status = await new Promise<string>((resolve, reject) => {
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to an upgrade for ${target} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (line: string) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(line);
    };
    const onData = (data: Buffer) => {
      head += data.toString('latin1');
      const end = head.indexOf('\r\n');
      if (end !== -1) done(head.slice(0, end));
    };
    socket.on('data', onData);
    void closed.then(() => done(head));
  });
  // Keep reading so that the server's close is seen.
  socket.resume();
  return { status, closed };
}
