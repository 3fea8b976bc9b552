import {
  type AdapterPort,
  CloseCode,
  limitCloseReason,
  TransportError,
  type Transport,
  type TransportSession,
} from '../../index.js';
import type { BunServerWebSocket } from './bun-types.js';
import type { Linked } from './socket-list.js';

/** What the connections of one handler share (one object, so a connection costs one field for it). */
export interface BunTransportContext {
  readonly port: AdapterPort;
}

const decoder = new TextDecoder();

/** A bit of `BunTransport.flags`: the socket answered the last ping (or has not been pinged yet). */
const ALIVE = 1;
/** A bit of `BunTransport.flags`: the last frame sent left bytes in Bun's queue (Bun answered -1). */
const QUEUED = 2;

/**
 * One connection: its `ws.data`, the hub's {@link Transport} and its place in
 * its handler's list of sockets at once, so a connection costs Bun's socket
 * and this one small object.
 */
export class BunTransport implements Transport, Linked<BunTransport> {
  /** The socket, from Bun's `open` on. */
  ws: BunServerWebSocket<BunTransport> | undefined = undefined;
  /** The hub's side of this connection, from Bun's `open` on. */
  session: TransportSession | undefined = undefined;
  /** {@link ALIVE} and {@link QUEUED}: two flags, one field. */
  private flags = ALIVE;
  /** Neighbours in the handler's list of open sockets. */
  prev: BunTransport | undefined = undefined;
  next: BunTransport | undefined = undefined;

  constructor(private readonly context: BunTransportContext) {}

  send(message: string | Uint8Array): void {
    const ws = this.ws;
    if (ws === undefined) return;
    // Bun sends bytes as a binary frame. The hub builds the frames of ASCII relays as text; others
    // (non-ASCII relays of the byte path) come as UTF-8 bytes, valid only during this call.
    const sent = ws.sendText(typeof message === 'string' ? message : decoder.decode(message));
    if (sent > 0) this.flags &= ~QUEUED;
    else if (sent === -1) this.flags |= QUEUED;
    // 0: Bun dropped the frame (closed, or past its backpressure limit, which is set far above the
    // hub's maxBufferedBytes): a frame lost in silence would break the conversation, so close.
    if (sent === 0 && this.session !== undefined && ws.getBufferedAmount() > 0) {
      this.close(CloseCode.SlowConsumer, 'too much data queued: the client is not reading');
    }
  }

  /**
   * Closes with `code` and `reason` cut to 123 UTF-8 bytes. Never throws: if
   * Bun refuses the close, the socket is terminated and the failure reported.
   */
  close(code: number, reason: string): void {
    try {
      this.ws?.close(code, limitCloseReason(reason));
    } catch (error) {
      this.context.port.reportError(
        new TransportError(`Bun refused to close a connection with ${code}; it was terminated`, error),
      );
      this.terminate();
    }
  }

  /** Drops the connection at once, without a closing handshake. */
  terminate(): void {
    this.ws?.terminate();
  }

  /**
   * Bytes Bun holds for this connection and has not written yet: what the
   * client has not read. Bun's queue grows only when a send leaves bytes in
   * it, which the send says (-1), so a connection that has not been told so
   * since its last complete send asks Bun nothing (the hub reads this for
   * every frame it relays).
   */
  get bufferedAmount(): number {
    if ((this.flags & QUEUED) === 0) return 0;
    const amount = this.ws?.getBufferedAmount() ?? 0;
    if (amount === 0) this.flags &= ~QUEUED;
    return amount;
  }

  /**
   * The heartbeat's turn: false when the socket did not answer the previous
   * ping (the heartbeat terminates it), else pings it again.
   */
  ping(): boolean {
    if ((this.flags & ALIVE) === 0) return false;
    this.flags &= ~ALIVE;
    // A ping is a frame too: it may leave bytes in the queue.
    if (this.ws!.ping() === -1) this.flags |= QUEUED;
    return true;
  }

  /** The socket answered a ping. */
  pong(): void {
    this.flags |= ALIVE;
  }
}
