import { WebSocket } from 'ws';
import type { WsTransport } from './ws-transport.js';

/**
 * ws's socket class with the hub's handling built in: `ws` calls `emit` for
 * each event, and this one hands them straight to the transport. No listener
 * objects or WeakMap entry per connection (an idle peer costs less memory),
 * no listener lookup per message. Listeners added with `on` still run for
 * the events not handled here (and for `close`).
 */
export class HubSocket extends WebSocket {
  transport: WsTransport | undefined = undefined;

  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const transport = this.transport;
    if (transport !== undefined) {
      switch (event) {
        case 'message':
          if (b === true) transport.session.receiveBinary();
          // Text frames arrive as a Buffer (ws's default binaryType) of UTF-8 that ws has validated.
          else transport.session.receive(a as Buffer);
          return true;
        case 'pong':
          transport.alive = true;
          return true;
        case 'error':
          // A framing error: ws closes with its status code next, but its `close` event says 1006.
          transport.closeCode ??= closeCodeOf(a);
          break;
        case 'close':
          transport.session.closed(transport.closeCode ?? (a as number));
          break;
      }
    }
    // ws reports protocol errors here and then closes the socket; `close` does the rest.
    if (event === 'error') return true;
    return super.emit(event, a, b);
  }
}

/** The close code ws sends for each of its documented receiver error codes. */
const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
};

function closeCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined;
  // Every other receiver error is a protocol error (bad bits, opcode, mask, control frame).
  return WS_ERROR_CLOSE_CODES[code] ?? 1002;
}
