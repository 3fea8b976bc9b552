import { WebSocket } from 'ws';
import { TransportError } from '../../core/errors.js';
import type { Transport, TransportSession } from '../../core/transport.js';
import { limitCloseReason } from '../../protocol/close-reason.js';
import type { FrameReaderState } from './frame-reader.js';
import { type CorkableSocket, type CorkedWriter, textFrame, unsentBytes, writeCorked } from './write-coalescer.js';

/** What the connections of one attachment share (one object, so a connection costs one field for it). */
export interface WsTransportContext {
  /** Largest frame accepted. */
  readonly maxPayload: number;
  /** Reports a failure on the hub's `error` event. */
  reportError(error: unknown): void;
}

/**
 * A `ws` socket as a hub {@link Transport}; it also carries the connection's
 * frame reader state. Built by `attach()`.
 */
export class WsTransport implements Transport, FrameReaderState {
  /** The hub's side of this connection. */
  session!: TransportSession;
  /** Cleared on each heartbeat, set again by the pong. */
  alive = true;
  cutFrame: FrameReaderState['cutFrame'] = undefined;
  wsReads = false;
  corkedBytes = 0;
  /** The code ws closed the connection with after a framing error (ws's `close` event says 1006 then). */
  closeCode: number | undefined = undefined;

  /**
   * @param raw The socket under `ws` (its private `_socket`: ws exposes no cork API) when the
   *   fast path may write frames to it directly; `undefined`: frames go through `ws.send()`.
   */
  constructor(
    readonly socket: WebSocket,
    private readonly context: WsTransportContext,
    readonly raw: CorkableSocket | undefined = undefined,
  ) {}

  get maxPayload(): number {
    return this.context.maxPayload;
  }

  send(message: string | Uint8Array): void {
    const socket = this.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (this.raw === undefined) {
      // ws may hold on to a Buffer it is given: hand it a copy of the hub's reused bytes.
      socket.send(typeof message === 'string' ? message : Buffer.from(message), { binary: false });
      return;
    }
    // The frame goes straight onto the corked net.Socket, in order with what ws itself writes
    // (pings, close frames).
    writeCorked(this as CorkedWriter, textFrame(message));
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

  /**
   * Bytes queued to the client and not yet taken by the kernel: what the
   * client has not read, not what this tick wrote (see `MAX_CORKED_BYTES`).
   */
  get bufferedAmount(): number {
    return this.raw !== undefined ? unsentBytes(this as CorkedWriter) : this.socket.bufferedAmount;
  }
}
