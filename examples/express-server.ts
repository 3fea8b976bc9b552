// An Express app: the hub attaches to the http.Server that Express runs on.
import { createServer } from 'node:http';
import express from 'express';
import { SignallingHub } from 'signalling-hub';
import { attach } from 'signalling-hub/ws';

const app = express();
const hub = new SignallingHub();

app.get('/peers', (_request, response) => {
  response.json([...hub.peers()].map((peer) => peer.name));
});
app.post('/peers/:name/kick', (request, response) => {
  response.json({ kicked: hub.disconnect(request.params.name, 'kicked by an admin') });
});

const server = createServer(app);
attach(hub, server, {
  path: '/signalling',
  // Auth before the WebSocket handshake, e.g. a session cookie.
  verifyUpgrade: (request) => request.headers.cookie?.includes('session=') ?? false,
});
server.listen(3000);
