import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import WebSocket from 'ws';
import { InvalidOptionError, type Peer, SignallingHub } from '../../src/index.js';
import { type AttachOptions, attach } from '../../src/ws.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(attachOptions: AttachOptions, hubOptions = {}): Promise<HubServer> {
  // A short closeTimeout: HTTP fallback sessions made here never poll, and closing would wait for them.
  const server = await startHubServer(hubOptions, { closeTimeout: 100, ...attachOptions });
  servers.push(server);
  return server;
}

/** The status a WebSocket handshake from `localAddress` gets: 101 when it opens (then it is kept open). */
function handshake(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { localAddress, headers });
    socket.once('open', () => {
      servers.push({ close: () => Promise.resolve(socket.terminate()) });
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response: IncomingMessage) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', reject);
  });
}

/** Creates an HTTP fallback session from `localAddress`: the status. */
function createSession(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path: '/?transport=http', method: 'POST', localAddress },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

describe('per-address caps at the handshake', () => {
  it('answers 429 past maxConnectionsPerAddress, over WebSocket and HTTP fallback together, while other addresses are served', async () => {
    const server = await start({ maxConnectionsPerAddress: 2 });
    expect(await handshake(server.url, '127.0.0.2')).toBe(101);
    expect(await createSession(server.port, '127.0.0.2')).toBe(201);
    expect(await handshake(server.url, '127.0.0.2')).toBe(429);
    expect(await createSession(server.port, '127.0.0.2')).toBe(429);
    // Another address is served meanwhile.
    expect(await handshake(server.url, '127.0.0.3')).toBe(101);
    expect(await createSession(server.port, '127.0.0.3')).toBe(201);
  });

  it('frees a place when a connection from the address closes', async () => {
    const server = await start({ maxConnectionsPerAddress: 1 });
    const first = await TestClient.connect(server.url, { localAddress: '127.0.0.4' });
    expect(await handshake(server.url, '127.0.0.4')).toBe(429);
    first.socket.close();
    await first.closed;
    // The hub counts it gone once it has heard the close: wait for that through the hub.
    const deadline = Date.now() + 5000;
    while ((server.hub.adapterPort.connectionsFrom?.('127.0.0.4') ?? 0) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await handshake(server.url, '127.0.0.4')).toBe(101);
  });

  it('answers 429 past connectionRate, per address', async () => {
    const server = await start({ connectionRate: { perSecond: 0.001, burst: 2 } });
    expect(await handshake(server.url, '127.0.0.5')).toBe(101);
    expect(await createSession(server.port, '127.0.0.5')).toBe(201);
    expect(await handshake(server.url, '127.0.0.5')).toBe(429);
    expect(await createSession(server.port, '127.0.0.5')).toBe(429);
    expect(await handshake(server.url, '127.0.0.6')).toBe(101);
  });

  it('refuses caps that cannot work', () => {
    const hub = new SignallingHub();
    const server = createServer();
    expect(() => attach(hub, server, { maxConnectionsPerAddress: -1 })).toThrow(InvalidOptionError);
    expect(() => attach(hub, server, { connectionRate: { perSecond: 0, burst: 1 } })).toThrow(/connectionRate.perSecond/);
    expect(() => attach(hub, server, { trustProxy: ['10.0.0.0/33'] })).toThrow(/trustProxy/);
    expect(() => attach(hub, server, { trustProxy: 'loopback' as never })).toThrow(/trustProxy/);
  });
});

describe('trustProxy', () => {
  it('reads the client address from X-Forwarded-For only from a trusted proxy, right to left', async () => {
    const server = await start({ trustProxy: ['127.0.0.0/8'], maxConnectionsPerAddress: 1 });
    const joined = new Promise<Peer>((resolve) => server.hub.once('peer-joined', resolve));
    const client = await TestClient.connect(server.url, { headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.5' } });
    await client.login('behind-proxy');
    // 198.51.100.9 may have been written by the client: the nearest untrusted hop is the client.
    expect((await joined).remoteAddress).toBe('203.0.113.5');
    expect(await handshake(server.url, '127.0.0.1', { 'x-forwarded-for': '203.0.113.5' })).toBe(429);
    expect(await handshake(server.url, '127.0.0.1', { 'x-forwarded-for': '203.0.113.6' })).toBe(101);
  });

  it('ignores X-Forwarded-For without trustProxy (anyone can write it)', async () => {
    const server = await start({ maxConnectionsPerAddress: 1 });
    const joined = new Promise<Peer>((resolve) => server.hub.once('peer-joined', resolve));
    const client = await TestClient.connect(server.url, {
      localAddress: '127.0.0.7',
      headers: { 'x-forwarded-for': '203.0.113.5' },
    });
    await client.login('direct');
    expect((await joined).remoteAddress).toBe('127.0.0.7');
    expect(await handshake(server.url, '127.0.0.7', { 'x-forwarded-for': '203.0.113.99' })).toBe(429);
  });

  it('takes a function', async () => {
    const server = await start({ trustProxy: (address) => address === '127.0.0.8' });
    const joined = new Promise<Peer>((resolve) => server.hub.once('peer-joined', resolve));
    const client = await TestClient.connect(server.url, {
      localAddress: '127.0.0.8',
      headers: { 'x-forwarded-for': '2001:db8::1' },
    });
    await client.login('v6');
    expect((await joined).remoteAddress).toBe('2001:db8::1');
  });
});

describe('identity decided by the host app', () => {
  interface User {
    id: string;
    role: 'admin' | 'member';
  }

  it('names the peer from an Express cookie session: verifyUpgrade finds the user, authenticate names the peer, peer.data is typed', async () => {
    const sessions = new Map<string, User>();
    const app = express();
    app.post('/sign-in/:id', (request, response) => {
      const sid = crypto.randomUUID();
      sessions.set(sid, { id: request.params.id, role: 'member' });
      response.cookie('sid', sid, { httpOnly: true }).json({ ok: true });
    });
    const sessionOf = (cookie: string | undefined) => sessions.get(/(?:^|;\s*)sid=([^;]+)/.exec(cookie ?? '')?.[1] ?? '');

    const hub = new SignallingHub<User, User>({
      authenticate: ({ upgrade }) => (upgrade === undefined ? false : { name: upgrade.id, data: upgrade }),
    });
    const joined: Array<Peer<User>> = [];
    hub.on('peer-joined', (peer) => {
      // Typed without a cast.
      expectTypeOf(peer.data).toEqualTypeOf<User>();
      joined.push(peer);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const attachment = attach<User>(hub, server, {
      verifyUpgrade: (request) => sessionOf(request.headers.cookie) ?? false,
    });
    servers.push({
      async close() {
        await attachment.close();
        await hub.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const signedIn = await fetch(`${base}/sign-in/ada`, { method: 'POST' });
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;

    const client = await TestClient.connect(base.replace('http', 'ws') + '/', { headers: { cookie } });
    // The client asks for no name (it does not know its id): the cookie decides it.
    expect(await client.request({ type: 'login' })).toMatchObject({ success: true, name: 'ada' });
    expect(joined.map((peer) => peer.data)).toEqual([{ id: 'ada', role: 'member' }]);
    expect(hub.getPeer('ada')?.data.role).toBe('member');
    // Without the cookie: 401 before the handshake.
    expect(await handshake(base.replace('http', 'ws') + '/', '127.0.0.1')).toBe(401);
  });

  it('keeps verifyUpgrade resolving true working: authenticate sees upgrade true', async () => {
    const seen: unknown[] = [];
    const server = await start(
      { verifyUpgrade: () => Promise.resolve(true) },
      {
        authenticate: ({ upgrade }: { upgrade: unknown }) => {
          seen.push(upgrade);
          return true;
        },
      },
    );
    const client = await TestClient.connect(server.url);
    expect(await client.login('plain')).toMatchObject({ success: true, name: 'plain' });
    expect(seen).toEqual([true]);
  });
});
