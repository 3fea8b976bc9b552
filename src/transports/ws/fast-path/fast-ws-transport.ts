import { WebSocket } from 'ws';
import { WsTransport, type WsTransportContext } from '../ws-transport.js';
import type { FrameReaderState } from './frame-reader.js';
import { type CorkableSocket, type CorkedWriter, textFrame, unsentBytes, writeCorked } from './write-coalescer.js';

/**
 * The fast path's transport: frames go pre-framed onto ws's corked socket
 * (one `writev` per tick), and it carries the connection's frame reader state.
 */
export class FastWsTransport extends WsTransport implements FrameReaderState, CorkedWriter {
  cutFrame: FrameReaderState['cutFrame'] = undefined;
  wsReads = false;
  corkedBytes = 0;

  /** @param raw The socket under `ws` (its private `_socket`: ws exposes no cork API). */
  constructor(
    socket: WebSocket,
    context: WsTransportContext,
    readonly raw: CorkableSocket,
  ) {
    super(socket, context);
  }

  get maxPayload(): number {
    return this.context.maxPayload;
  }

  override send(message: string | Uint8Array): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    // Straight onto the corked net.Socket, in order with what ws itself writes (pings, close frames).
    writeCorked(this, textFrame(message));
  }

  /**
   * Bytes queued to the client and not yet taken by the kernel: what the
   * client has not read, not what this tick wrote (see `MAX_CORKED_BYTES`).
   */
  override get bufferedAmount(): number {
    return unsentBytes(this);
  }
}
