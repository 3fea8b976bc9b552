// The hub on Bun.serve through signalling-hub/bun, default options, from dist/.
import { SignallingHub } from '../../dist/index.js';
import { createBunHandler } from '../../dist/bun.js';

export function start() {
  const hub = new SignallingHub();
  hub.on('error', (error) => console.error('hub error', error));
  const signalling = createBunHandler(hub);
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (request, server) => signalling.fetch(request, server) ?? new Response('not found', { status: 404 }),
    websocket: signalling.websocket,
  });
  return server.port;
}
