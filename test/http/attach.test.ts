import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError, SignallingHub, type SignallingHubError } from '../../src/index.js';
import { type AttachOptions, type Attachment, attach } from '../../src/ws.js';
import { TestClient } from '../helpers/test-client.js';
import { createRequest, RawHttpSession } from './raw-http.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('attach() serves the HTTP fallback next to the WebSocket endpoint', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(
    attachOptions: AttachOptions = {},
    handler: RequestListener = (_request, response) => response.end('host app'),
  ): Promise<{ hub: SignallingHub; server: Server; attachment: Attachment; base: string; port: number }> {
    const hub = new SignallingHub();
    const server = createServer(handler);
    const attachment = attach(hub, server, { closeTimeout: 100, ...attachOptions });
    const port = await listen(server);
    cleanups.push(async () => {
      await attachment.close();
      await hub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    return { hub, server, attachment, port, base: `http://127.0.0.1:${port}${attachOptions.path ?? '/'}` };
  }

  it('leaves the path to an Express app for every request without transport=http, and takes only those', async () => {
    const app = express();
    app.get('/', (_request, response) => response.send('express home'));
    app.post('/', (_request, response) => response.status(201).send('express post'));
    app.get('/api', (request, response) => response.json({ query: request.query }));
    const { base, port, attachment } = await setUp({}, app);
    expect(await (await fetch(base)).text()).toBe('express home');
    expect(await (await fetch(`${base}?session=x&poll=1`)).text()).toBe('express home');
    expect(await (await fetch(`${base}?transport=https`)).text()).toBe('express home');
    expect((await fetch(base, { method: 'POST' })).status).toBe(201);
    expect(await (await fetch(`http://127.0.0.1:${port}/api?transport=http`)).json()).toEqual({ query: { transport: 'http' } });
    // Express never sees the fallback's requests (it would answer them too: "headers already sent").
    const session = await RawHttpSession.create(base);
    expect(attachment.httpSessions).toBe(1);
    expect((await session.post([{ type: 'login', name: 'alice' }], 1)).status).toBe(204);
    expect(await session.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true });
    // The WebSocket endpoint on the same path is unchanged.
    const bob = await TestClient.connect(`ws://127.0.0.1:${port}/`);
    expect(await bob.login('bob')).toMatchObject({ success: true });
    bob.close();
  });

  it('turns off with httpFallback: false: the host gets every request; options are checked', async () => {
    const { base } = await setUp({ httpFallback: false });
    const response = await createRequest(base);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('host app');

    const hub = new SignallingHub();
    cleanups.push(() => hub.close());
    const server = createServer();
    for (const [value, option] of [
      ['yes', 'httpFallback'],
      [{ sessionTimout: 1000 }, 'httpFallback.sessionTimout'],
      [{ sessionTimeout: 50 }, 'httpFallback.sessionTimeout'],
      [{ pollTimeout: -1 }, 'httpFallback.pollTimeout'],
      [{ maxSessions: 0 }, 'httpFallback.maxSessions'],
      [{ maxBodyBytes: 10 }, 'httpFallback.maxBodyBytes'],
      [{ reorderWindow: 1.5 }, 'httpFallback.reorderWindow'],
    ] as const) {
      let error: unknown;
      try {
        attach(hub, server, { httpFallback: value as AttachOptions['httpFallback'] });
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ option });
    }
    expect(server.listenerCount('upgrade')).toBe(0);
    expect(Object.prototype.hasOwnProperty.call(server, 'emit')).toBe(false);
  });

  it('serves two hubs on two paths of one server, and gives the server back its own emit once both are closed', async () => {
    const server = createServer((_q, r) => r.end('host app'));
    const rooms = new SignallingHub();
    const lobby = new SignallingHub();
    const roomsAttachment = attach(rooms, server, { path: '/rooms', closeTimeout: 0 });
    const lobbyAttachment = attach(lobby, server, { path: '/lobby', closeTimeout: 0 });
    const port = await listen(server);
    cleanups.push(async () => {
      await rooms.close();
      await lobby.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const inRooms = await RawHttpSession.create(`http://127.0.0.1:${port}/rooms`);
    await RawHttpSession.create(`http://127.0.0.1:${port}/lobby`);
    expect([roomsAttachment.httpSessions, lobbyAttachment.httpSessions]).toEqual([1, 1]);
    expect(await (await createRequest(`http://127.0.0.1:${port}/other`)).text()).toBe('host app');
    // A session belongs to its path.
    expect((await fetch(inRooms.url({ poll: 1 }).replace('/rooms', '/lobby'), { headers: inRooms.headers() })).status).toBe(404);
    expect(Object.prototype.hasOwnProperty.call(server, 'emit')).toBe(true);
    await roomsAttachment.close();
    expect(await (await createRequest(`http://127.0.0.1:${port}/rooms`)).text()).toBe('host app');
    await lobbyAttachment.close();
    expect(Object.prototype.hasOwnProperty.call(server, 'emit')).toBe(false);
    // The path can be attached again at once.
    const again = attach(rooms.closed ? new SignallingHub() : rooms, server, { path: '/rooms', closeTimeout: 0 });
    expect((await createRequest(`http://127.0.0.1:${port}/rooms`)).status).toBe(201);
    await again.close();
  });

  it('applies origins, verifyUpgrade and CORS to the fallback as to upgrades', async () => {
    const seen: string[] = [];
    const { base, hub } = await setUp({
      origins: ['http://good.example'],
      verifyUpgrade: (request: IncomingMessage) => {
        seen.push(request.headers.authorization ?? '');
        return request.headers.authorization === 'Bearer ok';
      },
    });
    expect((await createRequest(base, { origin: 'http://evil.example', authorization: 'Bearer ok' })).status).toBe(403);
    expect((await createRequest(base, { origin: 'http://good.example' })).status).toBe(401);
    const created = await createRequest(base, { origin: 'http://good.example', authorization: 'Bearer ok' });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe('http://good.example');
    expect(created.headers.get('access-control-allow-credentials')).toBe('true');
    expect(created.headers.get('vary')).toBe('Origin');
    // Without an Origin (not a browser): allowed, as for upgrades.
    const session = await RawHttpSession.create(base, { authorization: 'Bearer ok' });
    // The origin is checked first: verifyUpgrade never saw the foreign one.
    expect(seen).toEqual(['', 'Bearer ok', 'Bearer ok']);
    // Later requests of a session are checked against origins too (verifyUpgrade ran once, at creation).
    const foreign = await fetch(session.url({ poll: 1 }), { headers: { ...session.headers(), origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    // A cross-origin preflight: the secret header may be sent.
    const preflight = await fetch(session.url(), {
      method: 'OPTIONS',
      headers: {
        origin: 'http://good.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-signalling-secret',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://good.example');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-signalling-secret');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE');
    expect(hub.stats().connections).toBe(2);
  });

  it('answers 500 and reports a HookError when verifyUpgrade or the origins function throws', async () => {
    const { base, hub } = await setUp({
      origins: (origin) => {
        if (origin === 'http://broken.example') throw new Error('origin store down');
        return true;
      },
      verifyUpgrade: (request) => {
        if (request.headers['x-break'] !== undefined) throw new Error('auth service down');
        return Promise.resolve(true);
      },
    });
    const errors: SignallingHubError[] = [];
    hub.on('error', (error) => errors.push(error));
    expect((await createRequest(base, { origin: 'http://broken.example' })).status).toBe(500);
    expect((await createRequest(base, { 'x-break': '1' })).status).toBe(500);
    expect((await createRequest(base)).status).toBe(201);
    expect(errors.map((error) => [error.code, (error as SignallingHubError & { hook: string }).hook])).toEqual([
      ['SH_ERR_HOOK_FAILED', 'origins'],
      ['SH_ERR_HOOK_FAILED', 'verifyUpgrade'],
    ]);
    expect(hub.stats().connections).toBe(1);
  });

  it('reflects any origin without credentials when origins is not set; a closed attachment leaves the path to the host', async () => {
    const { base, attachment } = await setUp();
    const created = await createRequest(base, { origin: 'http://any.example' });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe('http://any.example');
    expect(created.headers.get('access-control-allow-credentials')).toBeNull();
    const info = (await created.json()) as { session: string; secret: string };
    await attachment.close();
    // Closed: the path's requests are the host's again.
    expect(await (await createRequest(base)).text()).toBe('host app');
    const stale = await fetch(`${base}?transport=http&session=${info.session}&poll=1`, {
      headers: { 'x-signalling-secret': info.secret },
    });
    expect(await stale.text()).toBe('host app');
  });
});
