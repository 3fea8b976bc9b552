import type { WebSocket } from 'ws';
import type { WsTransport } from './ws-transport.js';

/**
 * The `ws` README's heartbeat: one interval for all sockets, `ping()` each,
 * and `terminate()` those that did not answer the previous ping. Dead TCP
 * connections (a laptop lid closed) otherwise hold their names for hours.
 */
export function startHeartbeat(
  sockets: Set<WebSocket>,
  transportOf: (socket: WebSocket) => WsTransport | undefined,
  interval: number,
): () => void {
  const timer = setInterval(() => {
    for (const socket of sockets) {
      const transport = transportOf(socket);
      if (transport === undefined) continue;
      if (!transport.alive) {
        socket.terminate();
        continue;
      }
      transport.alive = false;
      socket.ping();
    }
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
