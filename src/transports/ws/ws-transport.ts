import { WebSocket } from 'ws';
import { TransportError } from '../../core/errors.js';
import type { Transport, TransportSession } from '../../core/transport.js';
import { limitCloseReason } from '../../protocol/close-reason.js';

/** What the connections of one endpoint share (one object, so a connection costs one field for it). */
export interface WsTransportContext {
  /** Largest frame accepted. */
  readonly maxPayload: number;
  /** Reports a failure on the hub's `error` event. */
  reportError(error: unknown): void;
}

/**
 * A `ws` socket as a hub {@link Transport}, through ws's public API only.
 * The fast path's transport (`fast-path/`) extends it.
 */
export class WsTransport implements Transport {
  /** The hub's side of this connection. */
  session!: TransportSession;
  /** Cleared on each heartbeat, set again by the pong. */
  alive = true;
  /** The code ws closed the connection with after a framing error (ws's `close` event says 1006 then). */
  closeCode: number | undefined = undefined;

  constructor(
    readonly socket: WebSocket,
    protected readonly context: WsTransportContext,
  ) {}

  send(message: string | Uint8Array): void {
    const socket = this.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    // ws may hold on to a Buffer it is given: hand it a copy of the hub's reused bytes.
    socket.send(typeof message === 'string' ? message : Buffer.from(message), { binary: false });
  }

  /**
   * Closes with `code` and `reason` cut to 123 UTF-8 bytes. Never throws: if
   * ws refuses the close anyway (a code it does not allow), the socket is
   * terminated and the failure reported, so no connection the hub let go of
   * stays open.
   */
  close(code: number, reason: string): void {
    try {
      this.socket.close(code, limitCloseReason(reason));
    } catch (error) {
      this.context.reportError(new TransportError(`ws refused to close a connection with ${code}; it was terminated`, error));
      this.terminate();
    }
  }

  /** Drops the connection at once, without a closing handshake. */
  terminate(): void {
    this.socket.terminate();
  }

  /** Bytes queued to the client and not yet written. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }
}
