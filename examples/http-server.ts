// A plain node:http app with WebRTC signalling on /signalling.
// Run: npm run example:http   (PORT=8080 by default; SIGNALLING_KEY for logins not named guest-…)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignallingHub } from 'signalling-hub';
import { attach } from 'signalling-hub/ws';

const port = Number(process.env.PORT ?? 8080);

const server = createServer((_request, response) => {
  response.end('my app\n');
});

const key = process.env.SIGNALLING_KEY;
const hub = new SignallingHub({
  // Any login whose name starts with "guest-" is fine; others need the key (none is accepted without one).
  authenticate: ({ name, message }) => name.startsWith('guest-') || (key !== undefined && message.key === key),
});
hub.on('peer-joined', (peer) => console.log(`joined: ${peer.name}`));
hub.on('peer-left', (event) => console.log(`left: ${event.name} (${event.reason})`));
hub.on('error', (error) => console.error('signalling error:', error));

const attachment = attach(hub, server, { path: '/signalling', origins: [`http://localhost:${port}`] });
server.listen(port, () => {
  const { port: bound } = server.address() as AddressInfo;
  console.log(`http://localhost:${bound}, signalling on ws://localhost:${bound}/signalling`);
});

const stop = async () => {
  await attachment.close();
  await hub.close();
  server.close();
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
