import { WebSocket } from 'ws';
import type { Transport, TransportSession } from '../../core/transport.js';
import type { FrameReaderState } from './frame-reader.js';
import { type CorkableSocket, coalesceWrites, textFrame } from './write-coalescer.js';

/** A `ws` socket as a hub {@link Transport}; it also carries the connection's frame reader state. */
export class WsTransport implements Transport, FrameReaderState {
  /** The hub's side of this connection. */
  session!: TransportSession;
  /** Cleared on each heartbeat, set again by the pong. */
  alive = true;
  cutFrame: FrameReaderState['cutFrame'] = undefined;
  wsReads = false;
  /**
   * The socket under `ws` (its private `_socket`: ws exposes no cork API), when frames may be
   * written to it directly. With permessage-deflate (off in attach(), maybe on for a host's
   * own socket) ws may queue frames while it compresses, so only ws itself may write then.
   */
  private readonly raw: CorkableSocket | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly maxPayload: number,
  ) {
    const raw = (socket as unknown as { _socket?: CorkableSocket })._socket;
    this.raw = raw !== undefined && socket.extensions === '' ? raw : undefined;
  }

  send(message: string | Uint8Array): void {
    const socket = this.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    const raw = this.raw;
    if (raw === undefined) {
      // ws may hold on to a Buffer it is given: hand it a copy of the hub's reused bytes.
      socket.send(typeof message === 'string' ? message : Buffer.from(message), { binary: false });
      return;
    }
    // The frame goes straight onto the corked net.Socket, in order with what ws itself writes
    // (pings, close frames).
    coalesceWrites(raw);
    raw.write(textFrame(message));
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  get bufferedAmount(): number {
    return this.raw !== undefined ? this.raw.writableLength : this.socket.bufferedAmount;
  }
}
