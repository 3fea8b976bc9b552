import WebSocket from 'ws';
import { type Frame, Inbox } from './inbox.js';

export type { Frame };

/**
 * A real `ws` client with an inbox, for tests: `next()` waits for the next
 * frame (or the next one matching a predicate), `closed` resolves with the
 * close code.
 */
export class TestClient {
  readonly socket: WebSocket;
  private readonly box = new Inbox();
  /** Frames received and not taken by `next()` yet. */
  readonly inbox: Frame[] = this.box.frames;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    socket.on('message', (data: Buffer) => this.box.push(JSON.parse(data.toString()) as Frame));
    socket.on('error', () => {});
  }

  /** Opens a connection to `url` and waits until it is open. */
  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const socket = new WebSocket(url, options);
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`unexpected response ${response.statusCode}`)));
    });
    return client;
  }

  /** Sends an object as JSON, or a string as it is. */
  send(message: object | string): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next frame (matching `match`, if given), already received or yet to come. */
  next(match: (frame: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    return this.box.next(match, timeoutMs);
  }

  /** The next frame of `type`. */
  nextOf(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((frame) => frame.type === type, timeoutMs);
  }

  /** Sends a login and waits for its reply. */
  async login(name: string, extra: object = {}): Promise<Frame> {
    this.send({ type: 'login', name, ...extra });
    return this.nextOf('login');
  }

  /** Sends a request and waits for the reply (any frame). */
  async request(message: object | string, timeoutMs?: number): Promise<Frame> {
    this.send(message);
    return this.next(undefined, timeoutMs);
  }

  /** A clean close; `code` is what the server hears (none: 1005). */
  close(code?: number): void {
    this.socket.close(code);
  }

  /** Drops the connection without a closing handshake (the server sees 1006). */
  abort(): void {
    this.socket.terminate();
  }

  /** Sends a binary frame. */
  sendBinary(bytes: Uint8Array): void {
    this.socket.send(bytes, { binary: true });
  }

  /** Whether the socket is open. */
  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Stops reading at the TCP level: the kernel buffers fill, then the server's queue grows. */
  pauseReading(): void {
    (this.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resumeReading(): void {
    (this.socket as unknown as { _socket: { resume(): void } })._socket.resume();
  }
}
