import type { SignallingHub, Transport, TransportSession, UpgradeRequest } from '../../src/index.js';
import { type Frame, Inbox } from './inbox.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The hub's side of a {@link MemoryClient}: what the hub sends lands in the client, synchronously. */
class MemoryTransport implements Transport {
  constructor(private readonly client: MemoryClient) {}

  send(message: string | Uint8Array): void {
    // The bytes are valid during this call only: decode them now.
    this.client.received(typeof message === 'string' ? message : decoder.decode(message));
  }

  close(code: number, reason: string): void {
    // An adapter reports the close once the transport has closed, never from inside close().
    if (this.client.finish(code, reason)) queueMicrotask(() => this.client.session.closed(code));
  }

  terminate(): void {
    if (this.client.finish(1006, '')) queueMicrotask(() => this.client.session.closed(1006));
  }

  get bufferedAmount(): number {
    return this.client.queuedBytes;
  }
}

/** How a {@link MemoryClient} hands text to the hub. */
export type MemoryInput = 'text' | 'bytes';

/**
 * One scratch buffer for every `bytes` client: the transport contract says the
 * hub may read the bytes during `receive()` only, so after each call they are
 * overwritten. A hub that kept a reference would see garbage.
 */
let scratch = new Uint8Array(1 << 16);

/**
 * The core in isolation: a client of `hub.open()` with no socket and no
 * library in between. What the hub sends lands in an inbox, synchronously;
 * what the client sends reaches `session.receive()` synchronously, as a string
 * or (input `bytes`) as UTF-8 bytes in a reused buffer, the way the `ws`
 * adapter's frame reader hands them over. `pauseReading()` stops delivering
 * frames and reports what piles up as the transport's `bufferedAmount`, as a
 * socket whose peer stopped reading would.
 */
export class MemoryClient {
  private readonly box = new Inbox();
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly session: TransportSession;
  readonly transport: Transport;
  /** Every frame the hub sent, in order, as text (also while paused). */
  readonly sent: string[] = [];
  private open = true;
  private paused = false;
  private held: string[] = [];
  private heldBytes = 0;
  private resolveClosed!: (value: { code: number; reason: string }) => void;

  constructor(
    hub: SignallingHub,
    private readonly input: MemoryInput = 'text',
    request: UpgradeRequest = { url: '/', headers: {} },
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.transport = new MemoryTransport(this);
    this.session = hub.open(this.transport, { request, remoteAddress: 'in-memory' });
  }

  /** Frames received and not yet taken by `next()`. */
  get inbox(): Frame[] {
    return this.box.frames;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Sends an object as JSON, or a string as it is. */
  send(message: object | string): void {
    if (!this.open) return;
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (this.input === 'text') {
      this.session.receive(text);
      return;
    }
    const length = Buffer.byteLength(text);
    if (scratch.length < length) scratch = new Uint8Array(length * 2);
    const view = scratch.subarray(0, encoder.encodeInto(text, scratch).written);
    this.session.receive(view);
    view.fill(0xff);
  }

  /** A binary frame (the hub answers it with an error; its bytes never reach the core). */
  sendBinary(): void {
    if (this.open) this.session.receiveBinary();
  }

  next(match?: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
    return this.box.next(match, timeoutMs);
  }

  nextOf(type: string, timeoutMs?: number): Promise<Frame> {
    return this.box.next((frame) => frame.type === type, timeoutMs);
  }

  async login(name: string, extra: object = {}): Promise<Frame> {
    this.send({ type: 'login', name, ...extra });
    return this.nextOf('login');
  }

  async request(message: object | string, timeoutMs?: number): Promise<Frame> {
    this.send(message);
    return this.next(undefined, timeoutMs);
  }

  /** A clean close from the client: the hub hears `code` (1005, no code, when none is given). */
  close(code?: number): void {
    const heard = code ?? 1005;
    if (this.finish(heard, '')) this.session.closed(heard);
  }

  /** The connection drops without a closing handshake (1006). */
  abort(): void {
    if (this.finish(1006, '')) this.session.closed(1006);
  }

  /** Stops reading: frames pile up in `bufferedAmount` until `resumeReading()`. */
  pauseReading(): void {
    this.paused = true;
  }

  resumeReading(): void {
    this.paused = false;
    const held = this.held.splice(0);
    this.heldBytes = 0;
    for (const text of held) this.deliver(text);
  }

  /** @internal The hub sent `text`. */
  received(text: string): void {
    if (!this.open) return;
    this.sent.push(text);
    if (this.paused) {
      this.held.push(text);
      this.heldBytes += Buffer.byteLength(text);
      return;
    }
    this.deliver(text);
  }

  /** @internal Bytes queued while the client does not read. */
  get queuedBytes(): number {
    return this.heldBytes;
  }

  private deliver(text: string): void {
    this.box.push(JSON.parse(text) as Frame);
  }

  /** @internal Marks the connection closed; false if it already was. */
  finish(code: number, reason: string): boolean {
    if (!this.open) return false;
    this.open = false;
    this.resolveClosed({ code, reason });
    return true;
  }
}
