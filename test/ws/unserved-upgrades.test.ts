import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SignallingHub } from '../../src/index.js';
import { type Attachment, attach } from '../../src/ws.js';
import { requestUpgrade } from '../helpers/raw-ws.js';
import { TestClient } from '../helpers/test-client.js';

/** Request-targets that name no hub's path when the hub serves `/signalling` (matching is exact: nothing is decoded). */
const UNSERVED = ['/other', '/signalling/', '/%73ignalling', '//signalling', 'http://127.0.0.1/signalling'];

function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

async function connectionsDropTo(server: Server, expected: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let count = await connections(server);
  while (count > expected) {
    if (Date.now() > deadline) throw new Error(`the server still holds ${count} connections (expected ${expected})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    count = await connections(server);
  }
}

/** Sends `count` upgrade requests, cycling through the unserved targets, `batch` at a time; returns their status lines. */
async function strayUpgrades(port: number, count: number, batch = 100): Promise<string[]> {
  const statuses: string[] = [];
  for (let sent = 0; sent < count; sent += batch) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(batch, count - sent) }, (_, i) =>
        requestUpgrade(port, UNSERVED[(sent + i) % UNSERVED.length]!),
      ),
    );
    for (const answer of answers) statuses.push(answer.status);
    await Promise.all(answers.map((answer) => answer.closed));
  }
  return statuses;
}

describe('upgrades to a path no hub serves', () => {
  let server: Server | undefined;
  let hub: SignallingHub | undefined;
  let attachment: Attachment | undefined;
  /** Every TCP connection, upgraded ones included (closeAllConnections() leaves those alone). */
  const sockets = new Set<Duplex>();
  afterEach(async () => {
    await attachment?.close();
    await hub?.close();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = hub = attachment = undefined;
  });

  async function start(options: Parameters<typeof attach>[2], setUp?: (server: Server) => void): Promise<number> {
    server = createServer((_request, response) => response.end('host app'));
    server.on('connection', (socket) => sockets.add(socket));
    hub = new SignallingHub();
    attachment = attach(hub, server, { path: '/signalling', ...options });
    setUp?.(server);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  it('get 404 at once and their sockets closed when the server has no other upgrade listener (500 requests)', async () => {
    const port = await start({});
    const statuses = await strayUpgrades(port, 500);
    expect(new Set(statuses)).toEqual(new Set(['HTTP/1.1 404 Not Found']));
    await connectionsDropTo(server!, 0);
    // The hub's own path is still served.
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/signalling`);
    expect(await client.login('still-served')).toMatchObject({ success: true });
    client.close();
  });

  it('are left to the other upgrade listeners, and the ones nobody answers get 404 after unhandledUpgradeTimeout (500 requests)', async () => {
    const echo = new WebSocketServer({ noServer: true });
    echo.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(`echo ${data.toString()}`)));
    const port = await start({ unhandledUpgradeTimeout: 200 }, (host) => {
      host.on('upgrade', (request, socket, head) => {
        if (request.url === '/echo') echo.handleUpgrade(request, socket, head, (ws) => echo.emit('connection', ws, request));
        // A neighbour that answers late, but within the grace period.
        if (request.url === '/slow-echo') {
          setTimeout(() => echo.handleUpgrade(request, socket, head, (ws) => echo.emit('connection', ws, request)), 100);
        }
      });
    });
    const base = `ws://127.0.0.1:${port}`;
    const neighbours = [new WebSocket(`${base}/echo`), new WebSocket(`${base}/slow-echo`)];
    try {
      await Promise.all(neighbours.map((ws) => new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))));
      const started = Date.now();
      const statuses = await strayUpgrades(port, 500, 500);
      // Not answered before the grace period: another listener might have taken them.
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(new Set(statuses)).toEqual(new Set(['HTTP/1.1 404 Not Found']));
      await connectionsDropTo(server!, 2);
      // The neighbour's sockets, older than the grace period, are untouched.
      for (const ws of neighbours) {
        const echoed = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
        ws.send('hi');
        expect(await echoed).toBe('echo hi');
      }
    } finally {
      for (const ws of neighbours) ws.terminate();
      for (const ws of echo.clients) ws.terminate();
      echo.close();
    }
  });

  it('are never touched with unhandledUpgradeTimeout 0 while other listeners exist', async () => {
    const held: Duplex[] = [];
    const port = await start({ unhandledUpgradeTimeout: 0 }, (host) =>
      host.on('upgrade', (_request, socket) => held.push(socket)),
    );
    const pending = requestUpgrade(port, '/other', 400);
    await expect(pending).rejects.toThrow(/no answer/);
    expect(held).toHaveLength(1);
    for (const socket of held) socket.destroy();
  });

  it('do not keep a second hub on the same server from serving its path', async () => {
    const port = await start({});
    const lobby = new SignallingHub();
    const lobbyAttachment = attach(lobby, server!, { path: '/lobby' });
    expect(server!.listenerCount('upgrade')).toBe(1);
    expect((await requestUpgrade(port, '/other')).status).toBe('HTTP/1.1 404 Not Found');
    const client = new WebSocket(`ws://127.0.0.1:${port}/lobby`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    client.close();
    await lobbyAttachment.close();
    expect(server!.listenerCount('upgrade')).toBe(1);
    await lobby.close();
  });
});
