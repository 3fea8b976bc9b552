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
  /** Cleared on each heartbeat, set again by the pong. */
  alive = true;
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

  /** Bytes Bun holds for this connection and has not written yet: what the client has not read. */
  get bufferedAmount(): number {
    return this.ws?.getBufferedAmount() ?? 0;
  }
}
