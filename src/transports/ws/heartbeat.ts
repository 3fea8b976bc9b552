import type { WebSocket } from 'ws';
import { startHeartbeat } from '../shared/heartbeat.js';
import type { HubSocket } from './hub-socket.js';

/**
 * The `ws` README's heartbeat: one interval for all sockets, `ping()` each,
 * and `terminate()` those that did not answer the previous ping. Dead TCP
 * connections (a laptop lid closed) otherwise hold their names for hours.
 */
export function pingSockets(sockets: Set<WebSocket>, interval: number): () => void {
  return startHeartbeat(interval, () => {
    for (const socket of sockets) {
      const transport = (socket as HubSocket).transport;
      if (transport === undefined) continue;
      if (!transport.alive) {
        socket.terminate();
        continue;
      }
      transport.alive = false;
      socket.ping();
    }
  });
}
