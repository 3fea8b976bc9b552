// The hub serving y-webrtc clients through its y-webrtc dialect (signalling-hub/y-webrtc), default hub options.
import { SignallingHub } from '../../dist/index.js';
import { attachYWebrtc } from '../../dist/y-webrtc.js';

export function start(server) {
  const hub = new SignallingHub();
  hub.on('error', (error) => console.error('hub error', error));
  attachYWebrtc(hub, server, { path: '/' });
}
