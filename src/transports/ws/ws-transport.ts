import { WebSocket } from 'ws';
import type { Transport, TransportSession } from '../../core/transport.js';
import { type CorkableSocket, coalesceWrites, textFrame } from './write-coalescer.js';

/** A `ws` socket as a hub {@link Transport}. */
export class WsTransport implements Transport {
  /** The hub's side of this connection. */
  session!: TransportSession;
  /** Cleared on each heartbeat, set again by the pong. */
  alive = true;

  constructor(readonly socket: WebSocket) {}

  send(text: string): void {
    const socket = this.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    // ws exposes no cork API; its underlying net.Socket is the private `_socket`.
    const raw = (socket as unknown as { _socket?: CorkableSocket })._socket;
    // With permessage-deflate (off in attach(), maybe on for a host's own socket) ws may queue
    // frames while it compresses, so only ws itself may write to keep them in order.
    if (raw === undefined || socket.extensions !== '') {
      socket.send(text);
      return;
    }
    // The frame goes straight onto the corked net.Socket, in order with what ws itself writes
    // (pings, close frames).
    coalesceWrites(raw);
    raw.write(textFrame(text));
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }
}
