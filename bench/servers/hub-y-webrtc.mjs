// The hub serving y-webrtc clients through its y-webrtc dialect (signalling-hub/y-webrtc), default hub
// options but maxRoomMembers and the rate limit, which the load of bench/y-webrtc.mjs stays under anyway.
import { SignallingHub } from '../../dist/index.js';
import { attachYWebrtc } from '../../dist/y-webrtc.js';

export function start(server) {
  const hub = new SignallingHub();
  hub.on('error', (error) => console.error('hub error', error));
  attachYWebrtc(hub, server, { path: '/' });
}
