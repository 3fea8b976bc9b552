// An Express app: the hub attaches to the http.Server that Express runs on.
// Run: ADMIN_TOKEN=$(openssl rand -hex 16) npm run example:express   (PORT=3000 by default)
// The admin routes (/admin/…) and /metrics need `Authorization: Bearer $ADMIN_TOKEN`;
// without ADMIN_TOKEN they are off.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Registry } from 'prom-client';
import { SignallingHub } from 'signalling-hub';
import { registerHubMetrics } from 'signalling-hub/prometheus';
import { attach } from 'signalling-hub/ws';

const port = Number(process.env.PORT ?? 3000);
const adminToken = process.env.ADMIN_TOKEN;

const app = express();
const hub = new SignallingHub();
hub.on('error', (error) => console.error('signalling error:', error));

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Lets a request through only with `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time). */
function requireAdmin(request: Request, response: Response, next: NextFunction): void {
  if (adminToken === undefined || adminToken === '') {
    response.status(403).json({ error: 'the admin API is off: set ADMIN_TOKEN to turn it on' });
    return;
  }
  const given = /^Bearer (.+)$/.exec(request.get('authorization') ?? '')?.[1];
  if (given === undefined || !timingSafeEqual(digest(given), digest(adminToken))) {
    response.status(401).set('www-authenticate', 'Bearer').json({ error: 'unauthorized' });
    return;
  }
  next();
}

app.get('/admin/peers', requireAdmin, (_request, response) => {
  response.json([...hub.peers()].map((peer) => peer.name));
});
app.post('/admin/peers/:name/kick', requireAdmin, (request, response) => {
  response.json({ kicked: hub.disconnect(String(request.params.name), 'kicked by an admin') });
});

// Prometheus metrics of the hub on a registry of the app's own.
const registry = new Registry();
registerHubMetrics(hub, { registry });
app.get('/metrics', requireAdmin, async (_request, response) => {
  response.type(registry.contentType).send(await registry.metrics());
});

const server = createServer(app);
const attachment = attach(hub, server, {
  path: '/signalling',
  // Auth before the WebSocket handshake, e.g. a session cookie.
  verifyUpgrade: (request) => request.headers.cookie?.includes('session=') ?? false,
});
server.listen(port, () => {
  const { port: bound } = server.address() as AddressInfo;
  console.log(`http://localhost:${bound}, signalling on ws://localhost:${bound}/signalling`);
  if (!adminToken) console.log('admin API off: set ADMIN_TOKEN to turn it on');
});

const stop = async () => {
  await attachment.close();
  await hub.close();
  server.close();
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
