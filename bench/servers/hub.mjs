// The hub through its public API, default options.
import { SignallingHub } from '../../dist/index.js';
import { attach } from '../../dist/ws.js';

export function start(server) {
  const hub = new SignallingHub();
  hub.on('error', (error) => console.error('hub error', error));
  attach(hub, server);
}
