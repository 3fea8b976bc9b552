// A plain node:http app with WebRTC signalling on /signalling.
import { createServer } from 'node:http';
import { SignallingHub } from 'signalling-hub';
import { attach } from 'signalling-hub/ws';

const server = createServer((_request, response) => {
  response.end('my app\n');
});

const hub = new SignallingHub({
  // Any login whose name starts with "guest-" is fine; others need a key.
  authenticate: ({ name, message }) => name.startsWith('guest-') || message.key === process.env.SIGNALLING_KEY,
});
hub.on('peer-joined', (peer) => console.log(`joined: ${peer.name}`));
hub.on('peer-left', (event) => console.log(`left: ${event.name} (${event.reason})`));
hub.on('error', (error) => console.error('signalling error:', error));

const attachment = attach(hub, server, { path: '/signalling', origins: ['http://localhost:8080'] });
server.listen(8080, () => console.log('http://localhost:8080, signalling on ws://localhost:8080/signalling'));

process.on('SIGINT', async () => {
  await attachment.close();
  await hub.close();
  server.close();
});
