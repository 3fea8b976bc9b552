import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SignallingHub, type SignallingHubError } from '../../src/index.js';
import { attach } from '../../src/ws.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** The HTTP status a refused upgrade gets. */
function upgradeStatus(url: string, options?: WebSocket.ClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(101);
      socket.close();
    });
    socket.on('error', (error) => reject(error));
  });
}

describe('attach() next to the host app', () => {
  let server: Server | undefined;
  let hubServer: HubServer | undefined;
  afterEach(async () => {
    await hubServer?.close();
    hubServer = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
    }
  });

  it('shares one http.Server with two hubs, the host routes and the host WebSocket endpoint', async () => {
    server = createServer((request, response) => response.end(`route ${request.url}`));
    const rooms = new SignallingHub();
    const lobby = new SignallingHub();
    const roomsAttachment = attach(rooms, server, { path: '/rooms' });
    const lobbyAttachment = attach(lobby, server, { path: '/lobby' });
    // The host's own WebSocket endpoint, the ws README way.
    const echo = new WebSocketServer({ noServer: true });
    echo.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(`echo ${data.toString()}`)));
    server.on('upgrade', (request, socket, head) => {
      if (request.url === '/echo') echo.handleUpgrade(request, socket, head, (ws) => echo.emit('connection', ws, request));
    });
    const port = await listen(server);
    const base = `ws://127.0.0.1:${port}`;

    expect(await (await fetch(`http://127.0.0.1:${port}/api`)).text()).toBe('route /api');

    const inRooms = await TestClient.connect(`${base}/rooms`);
    const inLobby = await TestClient.connect(`${base}/lobby?client=1`);
    // Name spaces are per hub.
    expect(await inRooms.login('same')).toMatchObject({ success: true });
    expect(await inLobby.login('same')).toMatchObject({ success: true });
    expect(rooms.size).toBe(1);
    expect(lobby.size).toBe(1);

    const echoClient = new WebSocket(`${base}/echo`);
    const echoed = await new Promise<string>((resolve) => {
      echoClient.on('open', () => echoClient.send('hi'));
      echoClient.on('message', (data: Buffer) => resolve(data.toString()));
    });
    expect(echoed).toBe('echo hi');
    echoClient.close();

    await roomsAttachment.close();
    // The lobby keeps working after the rooms path closed.
    inLobby.send({ type: 'candidate', candidate: 1, name: 'same' });
    expect(await inLobby.nextOf('candidate')).toMatchObject({ candidate: 1, name: 'same' });
    await lobbyAttachment.close();
    echo.close();
  });

  it('close() closes its connections with 1001, their peers leave, and it removes its upgrade listener', async () => {
    server = createServer();
    const before = server.listenerCount('upgrade');
    const hub = new SignallingHub();
    const attachment = attach(hub, server, { path: '/s' });
    const port = await listen(server);
    const a = await TestClient.connect(`ws://127.0.0.1:${port}/s`);
    const b = await TestClient.connect(`ws://127.0.0.1:${port}/s`);
    await a.login('a');
    await b.login('b');
    expect(attachment.connections).toBe(2);
    const left: string[] = [];
    hub.on('peer-left', (event) => left.push(`${event.name}:${event.code}`));
    await attachment.close();
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    expect(left.sort()).toEqual(['a:1001', 'b:1001']);
    expect(hub.size).toBe(0);
    expect(server.listenerCount('upgrade')).toBe(before);
    await hub.close();
  });

  it('refuses origins outside the allow-list with 403 and lets non-browser clients in', async () => {
    hubServer = await startHubServer({}, { origins: ['https://app.example'] });
    expect(await upgradeStatus(hubServer.url, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(hubServer.url, { origin: 'https://app.example' })).toBe(101);
    expect(await upgradeStatus(hubServer.url)).toBe(101);
  });

  it('runs verifyUpgrade before the handshake: false is 401, a throw is 500 and an error event', async () => {
    hubServer = await startHubServer(
      {},
      {
        verifyUpgrade: (request) => {
          const token = new URL(request.url!, 'http://x').searchParams.get('token');
          if (token === 'explode') return Promise.reject(new Error('token store down'));
          return Promise.resolve(token === 'good');
        },
      },
    );
    const errors: SignallingHubError[] = [];
    hubServer.hub.on('error', (error) => errors.push(error));
    expect(await upgradeStatus(`${hubServer.url}?token=bad`)).toBe(401);
    expect(await upgradeStatus(`${hubServer.url}?token=explode`)).toBe(500);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'SH_ERR_HOOK_FAILED',
      hook: 'verifyUpgrade',
      cause: { message: 'token store down' },
    });
    const client = await TestClient.connect(`${hubServer.url}?token=good`);
    expect(await client.login('verified')).toMatchObject({ success: true });
  });

  it('terminates a socket that stops answering pings and frees its name', async () => {
    hubServer = await startHubServer({}, { heartbeatInterval: 100 });
    const silent = await TestClient.connect(hubServer.url, { autoPong: false });
    const lively = await TestClient.connect(hubServer.url);
    await silent.login('silent');
    await lively.login('lively');
    const left = new Promise((resolve) => hubServer!.hub.once('peer-left', resolve));
    expect(await left).toMatchObject({ name: 'silent', reason: 'closed' });
    expect((await silent.closed).code).toBe(1006);
    // Three more pings reach the peer that answers them: it was judged alive at each heartbeat since.
    await new Promise<void>((resolve, reject) => {
      let pings = 0;
      const timer = setTimeout(() => reject(new Error('no three pings within 5 s')), 5000);
      lively.socket.on('ping', () => {
        if (++pings < 3) return;
        clearTimeout(timer);
        resolve();
      });
    });
    expect(hubServer.hub.getPeer('lively')).toBeDefined();
    expect(lively.socket.readyState).toBe(lively.socket.OPEN);
  });

  it('takes maxPayload from the hub unless given', async () => {
    hubServer = await startHubServer({ maxMessageBytes: 1024 });
    const client = await TestClient.connect(hubServer.url);
    client.send({ type: 'login', name: 'x'.repeat(1100) });
    expect((await client.closed).code).toBe(1009);
  });

  it('rejects a path that does not start with a slash', () => {
    expect(() => attach(new SignallingHub(), createServer(), { path: 'nope' })).toThrow(/path/);
  });
});
