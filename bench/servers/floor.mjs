// The floor: frames forwarded unparsed between fixed partners (paired by ?p=<key>), writes coalesced per tick.
import { WebSocketServer } from 'ws';
import { coalesce } from '../lib/ipc.mjs';

export function start(server) {
  const wss = new WebSocketServer({ server });
  const waiting = new Map();
  wss.on('connection', (socket, request) => {
    const key = request.url.slice(request.url.indexOf('p=') + 2);
    const other = waiting.get(key);
    if (other === undefined) waiting.set(key, socket);
    else {
      waiting.delete(key);
      socket.partner = other;
      other.partner = socket;
    }
    socket.on('message', (data, isBinary) => {
      const partner = socket.partner;
      if (partner === undefined) return;
      coalesce(partner._socket);
      partner.send(data, { binary: isBinary });
    });
    socket.on('close', () => {
      if (waiting.get(key) === socket) waiting.delete(key);
      if (socket.partner !== undefined) socket.partner.partner = undefined;
    });
  });
}
