import WebSocket from 'ws';
import type { BunHubMirror } from './bun-hub.js';
import { type Frame, Inbox } from './inbox.js';

/**
 * A real `ws` client of a hub in the Bun child, with the API of
 * test-client.ts. A frame (and the close) is delivered to the test only once
 * the hub's mirror has caught up with the child (a barrier sent after the
 * frame arrived): then what the hub did before sending it (a login
 * registered, `peer-left` emitted) is visible here, as with a hub in this
 * process. Frames that arrive together share one barrier, in order.
 */
export class BunClient {
  private readonly box = new Inbox();
  /** Frames delivered and not taken by `next()` yet. */
  readonly inbox: Frame[] = this.box.frames;
  readonly closed: Promise<{ code: number; reason: string }>;
  private arrived: Frame[] = [];
  private delivered: Promise<void> = Promise.resolve();

  private constructor(
    readonly socket: WebSocket,
    private readonly mirror: BunHubMirror,
  ) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        // Frames that came before the close are delivered before it.
        this.flush();
        const barrier = this.barrier();
        this.delivered = this.delivered.then(() => barrier).then(() => resolve({ code, reason: reason.toString() }));
      });
    });
    socket.on('message', (data: Buffer) => {
      // The first frame of a batch: one barrier for it and those that arrive in the same turn.
      if (this.arrived.push(JSON.parse(data.toString()) as Frame) === 1) queueMicrotask(() => this.flush());
    });
    socket.on('error', () => {});
  }

  /** Delivers the frames arrived so far once a barrier sent now has returned. */
  private flush(): void {
    if (this.arrived.length === 0) return;
    const batch = this.arrived;
    this.arrived = [];
    const barrier = this.barrier();
    this.delivered = this.delivered
      .then(() => barrier)
      .then(() => {
        for (const frame of batch) this.box.push(frame);
      });
  }

  /** The mirror's sync; a child that died fails the waiting test by its timeout, not here. */
  private barrier(): Promise<void> {
    return this.mirror.sync().catch(() => {});
  }

  /** Opens a connection to `url` and waits until it is open. */
  static async connect(url: string, mirror: BunHubMirror, options?: WebSocket.ClientOptions): Promise<BunClient> {
    const socket = new WebSocket(url, options);
    const client = new BunClient(socket, mirror);
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

  next(match: (frame: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    return this.box.next(match, timeoutMs);
  }

  nextOf(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((frame) => frame.type === type, timeoutMs);
  }

  async login(name: string, extra: object = {}): Promise<Frame> {
    this.send({ type: 'login', name, ...extra });
    return this.nextOf('login');
  }

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

  sendBinary(bytes: Uint8Array): void {
    this.socket.send(bytes, { binary: true });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Stops reading at the TCP level: the kernel buffers fill, then Bun's queue for the socket grows. */
  pauseReading(): void {
    (this.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resumeReading(): void {
    (this.socket as unknown as { _socket: { resume(): void } })._socket.resume();
  }
}
