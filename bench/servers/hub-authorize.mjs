// The hub with a relay policy (issue #19): `authorizeRelay` allows the pairs of the load (a<i> ↔ b<i>)
// by a lookup in a Map of Sets, as a host holding who may call whom would; default options otherwise.
import { SignallingHub } from '../../dist/index.js';
import { attach } from '../../dist/ws.js';

export function start(server) {
  const allowed = new Map();
  const allow = (from, to) => (allowed.get(from) ?? allowed.set(from, new Set()).get(from)).add(to);
  // More pairs than any run connects; idle peers (i<n>) relay nothing.
  for (let i = 0; i < 4096; i++) {
    allow(`a${i}`, `b${i}`);
    allow(`b${i}`, `a${i}`);
  }
  const hub = new SignallingHub({ authorizeRelay: ({ from, to }) => allowed.get(from.name)?.has(to) === true });
  hub.on('error', (error) => console.error('hub error', error));
  attach(hub, server);
}
