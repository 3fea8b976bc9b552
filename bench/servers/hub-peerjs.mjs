// The hub serving PeerJS clients through its PeerJS dialect (signalling-hub/peerjs), default hub options.
import { SignallingHub } from '../../dist/index.js';
import { attachPeerjs } from '../../dist/peerjs.js';

export function start(server) {
  const hub = new SignallingHub();
  hub.on('error', (error) => console.error('hub error', error));
  // As for PeerJS server: the default concurrent_limit (5000) would refuse the 10k idle peers of the memory run.
  attachPeerjs(hub, server, { path: '/', concurrent_limit: 1_000_000 });
}
