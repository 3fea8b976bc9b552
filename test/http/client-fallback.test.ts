import { type AddressInfo, createServer, type Server, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignallingClient, type TransportEvent } from '../../src/client.js';
import { nextEvent } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { Nginx } from '../helpers/nginx.js';

/**
 * A proxy that passes plain HTTP requests to the hub but swallows WebSocket
 * upgrades without an answer (as some middleboxes do): only a timeout tells.
 */
async function upgradeBlackHole(target: number): Promise<{ port: number; server: Server }> {
  const server = createServer((client) => {
    client.on('error', () => {});
    client.once('data', (first: Buffer) => {
      if (/^upgrade: websocket/im.test(first.toString('latin1'))) return;
      const upstream = new Socket();
      upstream.on('error', () => client.destroy());
      upstream.connect(target, '127.0.0.1', () => {
        upstream.write(first);
        client.pipe(upstream).pipe(client);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

describe('SignallingClient falls back to HTTP by itself', () => {
  let hub: HubServer;
  let nginx: Nginx;
  const clients: SignallingClient[] = [];
  const client = (url: string, options: ConstructorParameters<typeof SignallingClient>[1] = {}) => {
    const created = new SignallingClient(url, { WebSocket, reconnectDelay: 50, ...options });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    hub = await startHubServer({}, { path: '/signalling' });
    nginx = await Nginx.start({ upstreamPort: hub.port });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((created) => created.close()));
  });
  afterAll(async () => {
    await nginx?.stop();
    await hub?.close();
  });

  it('uses a WebSocket where it can, and says so', async () => {
    const alice = client(hub.url);
    const transports: TransportEvent[] = [];
    alice.on('transport', (event) => transports.push(event));
    await alice.login('ws-alice');
    expect(alice.transport).toBe('websocket');
    expect(transports).toEqual([{ transport: 'websocket', reason: undefined }]);
  });

  it('falls back when the upgrade fails behind a proxy that forwards no Upgrade header, and calls a WebSocket peer', async () => {
    const behind = client(`ws://127.0.0.1:${nginx.port}/signalling`);
    const transport = nextEvent(behind, 'transport');
    const fallback = new Promise<TransportEvent>((resolve) =>
      behind.on('transport', (event) => event.transport === 'http' && resolve(event)),
    );
    await behind.login('behind-proxy');
    expect((await transport).transport).toBe('websocket');
    expect(await fallback).toMatchObject({ transport: 'http', reason: expect.stringMatching(/upgrade failed twice/) });
    expect(behind.transport).toBe('http');
    const direct = client(hub.url);
    await direct.login('direct');
    const offer = nextEvent(direct, 'offer');
    behind.offer('direct', { type: 'offer', sdp: 'v=0' });
    expect(await offer).toEqual({ from: 'behind-proxy', offer: { type: 'offer', sdp: 'v=0' } });
    const answer = nextEvent(behind, 'answer');
    direct.answer('behind-proxy', { type: 'answer', sdp: 'v=0' });
    expect(await answer).toEqual({ from: 'direct', answer: { type: 'answer', sdp: 'v=0' } });
  });

  it('falls back when the upgrade is swallowed and no frame answers within fallbackTimeout', async () => {
    const hole = await upgradeBlackHole(hub.port);
    try {
      const swallowed = client(`ws://127.0.0.1:${hole.port}/signalling`, { fallbackTimeout: 500 });
      const started = Date.now();
      await swallowed.login('swallowed');
      expect(swallowed.transport).toBe('http');
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    } finally {
      hole.server.close();
    }
  });

  it("does as it is told: transport 'http' never tries a WebSocket, 'websocket' never falls back", async () => {
    const forced = client(hub.url, { transport: 'http' });
    await forced.login('forced-http');
    expect(forced.transport).toBe('http');
    const stubborn = client(`ws://127.0.0.1:${nginx.port}/signalling`, {
      transport: 'websocket',
      loginTimeout: 1500,
      reconnect: false,
    });
    await expect(stubborn.login('stubborn')).rejects.toMatchObject({
      reason: expect.stringMatching(/connection-closed|timeout/),
    });
    expect(stubborn.transport).toBe('websocket');
  });

  it('uses HTTP at once where there is no WebSocket class at all', async () => {
    const globals = globalThis as { WebSocket?: unknown };
    const saved = globals.WebSocket;
    delete globals.WebSocket;
    try {
      const bare = client(hub.url, { WebSocket: undefined });
      await bare.login('no-websocket');
      expect(bare.transport).toBe('http');
    } finally {
      if (saved !== undefined) globals.WebSocket = saved;
    }
  });
});
