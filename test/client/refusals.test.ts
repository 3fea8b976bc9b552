import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  type CloseEvent,
  type CredentialsRequest,
  LoginError,
  SignallingClient,
  type SignallingClientOptions,
} from '../../src/client.js';
import type { AttachOptions } from '../../src/ws.js';
import { nextEvent, until } from '../helpers/events.js';
import { startHubServer } from '../helpers/hub-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/** What a hub's admission saw: every request `verifyUpgrade` ran on (upgrades, session-opening POSTs, probes). */
interface Seen {
  upgrades: number;
  sessionPosts: number;
  probes: number;
}

function seenBy(): { seen: Seen; record: (request: IncomingMessage) => void } {
  const seen: Seen = { upgrades: 0, sessionPosts: 0, probes: 0 };
  return {
    seen,
    record(request) {
      if (request.method === 'POST') seen.sessionPosts++;
      else if (/[?&]probe=1/.test(request.url ?? '')) seen.probes++;
      else seen.upgrades++;
    },
  };
}

const tokenOf = (request: IncomingMessage) => new URL(request.url ?? '/', 'http://host').searchParams.get('token');

async function rejection(promise: Promise<unknown>): Promise<LoginError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LoginError);
  return error as LoginError;
}

describe('SignallingClient and refused handshakes (#17 item 17, #19 client credentials)', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function hub(attachOptions: AttachOptions, hubOptions = {}) {
    const server = await startHubServer(hubOptions, attachOptions);
    cleanups.push(() => server.close());
    return server;
  }

  function client(url: string, options: SignallingClientOptions = {}) {
    const created = new SignallingClient(url, { WebSocket, reconnectDelay: 20, maxReconnectDelay: 100, ...options });
    cleanups.push(() => created.close());
    return created;
  }

  /** A proxy in front of `port` whose connections can be dropped: the client reconnects through it. */
  async function proxyTo(port: number, path = '/') {
    const proxy = await startTcpProxy(port);
    cleanups.push(() => proxy.close());
    return { proxy, url: `ws://127.0.0.1:${proxy.port}${path}` };
  }

  it('reports a verifyUpgrade 401 as `unauthorized` with its status, opens no HTTP session, and stops', async () => {
    const { seen, record } = seenBy();
    const server = await hub({
      verifyUpgrade: (request) => {
        record(request);
        return false;
      },
    });
    const alice = client(server.url);
    const transports: string[] = [];
    alice.on('transport', ({ transport }) => transports.push(transport));
    const error = await rejection(alice.login('alice'));
    expect(error).toMatchObject({ code: 'SH_ERR_LOGIN', reason: 'unauthorized', status: 401 });
    expect(error.message).toMatch(/HTTP 401/);
    expect(alice.state).toBe('closed');
    // One upgrade (the status came with ws's unexpected-response: no probe), no session over HTTP.
    expect(seen).toEqual({ upgrades: 1, sessionPosts: 0, probes: 0 });
    expect(transports).toEqual(['websocket']);
    expect(server.attachment.httpSessions).toBe(0);
  });

  it('reports an origins 403 as `forbidden` (the Origin header given by the credentials callback), without falling back', async () => {
    const server = await hub({ origins: ['https://good.example'] });
    const posts: string[] = [];
    server.server.prependListener('request', (request: IncomingMessage) => posts.push(request.method ?? ''));
    const alice = client(server.url, { credentials: () => ({ headers: { Origin: 'https://evil.example' } }) });
    const error = await rejection(alice.login('alice'));
    expect(error).toMatchObject({ reason: 'forbidden', status: 403 });
    expect(alice.transport).toBe('websocket');
    expect(server.attachment.httpSessions).toBe(0);
    expect(server.hub.stats().connections).toBe(0);
  });

  it('reports a refused session of the HTTP fallback (transport: http) the same way', async () => {
    const { seen, record } = seenBy();
    const server = await hub({
      verifyUpgrade: (request) => {
        record(request);
        return false;
      },
    });
    const alice = client(server.url, { transport: 'http' });
    expect(await rejection(alice.login('alice'))).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(seen).toEqual({ upgrades: 0, sessionPosts: 1, probes: 0 });
    expect(alice.state).toBe('closed');
  });

  it('stops reconnecting when the credentials it has are refused (no callback): a close with the error, not forever', async () => {
    let valid = 'v1';
    const { seen, record } = seenBy();
    const server = await hub({
      verifyUpgrade: (request) => {
        record(request);
        return tokenOf(request) === valid;
      },
    });
    const { proxy, url } = await proxyTo(server.port);
    const alice = client(`${url}?token=v1`);
    await alice.login('alice');
    valid = 'v2';
    const closes: CloseEvent[] = [];
    alice.on('close', (event) => closes.push(event));
    const final = new Promise<CloseEvent>((resolve) => alice.on('close', (event) => !event.reconnecting && resolve(event)));
    proxy.drop();
    const event = await final;
    expect(event.error).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(alice.state).toBe('closed');
    // The drop itself (1006, reconnecting), then the refused reconnection: nothing after it is scheduled.
    expect(closes.map((close) => close.reconnecting)).toEqual([true, false]);
    expect(seen.sessionPosts).toBe(0);
    expect(seen.upgrades).toBe(2);
  });

  it('asks the credentials callback again after a 401 and gets in with the fresh token (login() and reconnection)', async () => {
    let valid = 'v1';
    const { seen, record } = seenBy();
    const server = await hub({
      verifyUpgrade: (request) => {
        record(request);
        return tokenOf(request) === valid;
      },
    });
    // The app's token store: it renews the token when told the one it gave was refused.
    let issued = 'v0';
    const requests: CredentialsRequest[] = [];
    const { proxy, url } = await proxyTo(server.port);
    const alice = client(url, {
      credentials: ({ attempt, refused }) => {
        requests.push({ attempt, refused });
        if (refused !== undefined) issued = valid;
        return Promise.resolve({ query: { token: issued } });
      },
    });
    expect(await alice.login('alice')).toEqual({ name: 'alice', resumed: false });
    expect(requests.map(({ attempt, refused }) => [attempt, refused?.reason])).toEqual([
      [0, undefined],
      [0, 'unauthorized'],
    ]);
    expect(alice.url).toBe(url);

    // The token expires while the connection is down: the reconnection is refused, then resumes with a fresh one.
    valid = 'v2';
    const resumed = nextEvent(alice, 'login', 5000);
    proxy.drop();
    expect(await resumed).toEqual({ name: 'alice', resumed: true });
    expect(requests.at(-1)?.refused).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(issued).toBe('v2');
    expect(seen.sessionPosts).toBe(0);
  });

  it('stops when the callback, asked again, gives the credentials that were refused', async () => {
    const server = await hub({ verifyUpgrade: (request) => tokenOf(request) === 'good' });
    let calls = 0;
    const alice = client(server.url, {
      credentials: () => {
        calls++;
        return { query: { token: 'stale' } };
      },
    });
    const error = await rejection(alice.login('alice'));
    expect(error).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(calls).toBe(2);
  });

  it('fails the attempt with reason `credentials` when the callback throws', async () => {
    const server = await hub({});
    const alice = client(server.url, {
      credentials: () => Promise.reject(new Error('token service down')),
    });
    const error = await rejection(alice.login('alice'));
    expect(error.reason).toBe('credentials');
    expect(error.message).toMatch(/token service down/);
  });

  it('answers `too-many-requests` (429) and `unavailable` (503) upgrades with typed errors, without falling back', async () => {
    let status = '429 Too Many Requests';
    const posts: string[] = [];
    const server = createServer((request, response) => {
      posts.push(request.method ?? '');
      response.writeHead(500).end();
    });
    server.on('upgrade', (_request, socket) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    expect(await rejection(client(url).login('alice'))).toMatchObject({ reason: 'too-many-requests', status: 429 });
    status = '503 Service Unavailable';
    expect(await rejection(client(url).login('alice'))).toMatchObject({ reason: 'unavailable', status: 503 });
    expect(posts).toEqual([]);
  });

  it('keeps reconnecting through 503 and 429 refusals (transient), each close carrying the typed error, and resumes', async () => {
    // A hub-shaped server: upgrades 2 and 3 are refused, the others accepted; every login succeeds.
    let upgrades = 0;
    const wss = new WebSocketServer({ noServer: true });
    wss.on('connection', (socket) => {
      socket.on('message', (data) => {
        const message = JSON.parse((data as Buffer).toString()) as { type?: string; name?: string };
        if (message.type === 'login') {
          socket.send(JSON.stringify({ type: 'login', success: true, name: message.name, token: 'tok', resumed: upgrades > 1 }));
        }
      });
    });
    const server = createServer((_request, response) => response.writeHead(500).end());
    server.on('upgrade', (request, socket, head) => {
      upgrades++;
      if (upgrades === 2 || upgrades === 3) {
        socket.end(
          `HTTP/1.1 ${upgrades === 2 ? '503 Service Unavailable' : '429 Too Many Requests'}\r\nContent-Length: 0\r\n\r\n`,
        );
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of wss.clients) socket.terminate();
      await new Promise((resolve) => server.close(resolve));
    });
    const alice = client(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await alice.login('alice');
    const closes: CloseEvent[] = [];
    alice.on('close', (event) => closes.push(event));
    const back = nextEvent(alice, 'login');
    for (const socket of wss.clients) socket.terminate();
    expect(await back).toEqual({ name: 'alice', resumed: true });
    expect(closes.map(({ reconnecting, error }) => [reconnecting, error?.reason, error?.status])).toEqual([
      [true, undefined, undefined],
      [true, 'unavailable', 503],
      [true, 'too-many-requests', 429],
    ]);
    expect(alice.transport).toBe('websocket');
  });

  it('reports a login refused by `authenticate` as `unauthorized` and stops retrying it', async () => {
    const server = await hub({}, { authenticate: () => false });
    const alice = client(server.url);
    const error = await rejection(alice.login('alice'));
    expect(error.reason).toBe('unauthorized');
    expect(error.status).toBeUndefined();
  });
});

/** A WebSocket server on loopback whose answer to each login is `reply(login, count)`; it records the login frames. */
async function scripted(reply: (login: Record<string, unknown>, count: number) => unknown) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  const logins: Array<Record<string, unknown>> = [];
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString()) as Record<string, unknown>;
      if (message.type !== 'login') return;
      logins.push(message);
      socket.send(JSON.stringify(reply(message, logins.length)));
    });
  });
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    logins,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('SignallingClient login fields, host refusals and assigned names (#19)', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function client(url: string, options: SignallingClientOptions = {}) {
    const created = new SignallingClient(url, { WebSocket, reconnectDelay: 20, maxReconnectDelay: 100, ...options });
    cleanups.push(() => created.close());
    return created;
  }

  it('carries the host’s message of a refused login, and merges login fields without overriding its own', async () => {
    const hub = await scripted(() => ({
      type: 'login',
      success: false,
      reason: 'unauthorized',
      message: 'Your session expired',
    }));
    cleanups.push(hub.close);
    const alice = client(hub.url, {
      loginFields: { jwt: 'x', type: 'evil', name: 'mallory', token: 'forged', resume: false },
      credentials: () => ({ login: { device: 'phone' } }),
    });
    const error = await rejection(alice.login('alice'));
    expect(error).toMatchObject({ reason: 'unauthorized', message: 'Your session expired', status: undefined });
    expect(hub.logins).toEqual([{ type: 'login', name: 'alice', resume: true, jwt: 'x', device: 'phone' }]);
  });

  it('after an automatic login refused `unauthorized`, logs in again with the fresh login fields the callback gives', async () => {
    const hub = await scripted((login, count) =>
      count === 2
        ? { type: 'login', success: false, reason: 'unauthorized', message: 'jwt expired' }
        : { type: 'login', success: true, name: login.name, token: 'tok', resumed: count > 1 },
    );
    cleanups.push(hub.close);
    let jwt = 'jwt-1';
    const refusals: string[] = [];
    const alice = client(hub.url, {
      credentials: ({ refused }) => {
        if (refused !== undefined) {
          refusals.push(refused.message);
          jwt = 'jwt-2';
        }
        return { login: { jwt } };
      },
    });
    await alice.login('alice');
    const back = new Promise<void>((resolve) => alice.on('login', ({ resumed }) => resumed && resolve()));
    for (const socket of hub.server.clients) socket.terminate();
    await back;
    expect(refusals).toEqual(['jwt expired']);
    expect(hub.logins.map((login) => login.jwt)).toEqual(['jwt-1', 'jwt-1', 'jwt-2']);
    expect(hub.logins[2]).toMatchObject({ name: 'alice', token: 'tok' });
  });

  it('ends the session when an automatic login is refused `unauthorized` and the callback has nothing new', async () => {
    const hub = await scripted((login, count) =>
      count === 1
        ? { type: 'login', success: true, name: login.name, token: 'tok' }
        : { type: 'login', success: false, reason: 'unauthorized', message: 'banned' },
    );
    cleanups.push(hub.close);
    const alice = client(hub.url, { credentials: () => ({ login: { jwt: 'same' } }) });
    await alice.login('alice');
    const final = new Promise<CloseEvent>((resolve) => alice.on('close', (event) => !event.reconnecting && resolve(event)));
    for (const socket of hub.server.clients) socket.terminate();
    expect((await final).error).toMatchObject({ reason: 'unauthorized', message: 'banned' });
    expect(alice.state).toBe('closed');
    expect(hub.logins).toHaveLength(2);
  });

  it('logs in without a name and takes the one the hub assigns; resumes under it', async () => {
    const hub = await scripted((login, count) => ({
      type: 'login',
      success: true,
      name: login.name ?? 'user-7f3a',
      token: 'tok',
      resumed: count > 1,
    }));
    cleanups.push(hub.close);
    const alice = client(hub.url);
    expect(await alice.login()).toEqual({ name: 'user-7f3a', resumed: false });
    expect(alice.name).toBe('user-7f3a');
    expect(hub.logins[0]).toEqual({ type: 'login', resume: true });
    const back = nextEvent(alice, 'login');
    for (const socket of hub.server.clients) socket.terminate();
    expect(await back).toEqual({ name: 'user-7f3a', resumed: true });
    expect(hub.logins[1]).toEqual({ type: 'login', name: 'user-7f3a', token: 'tok', resume: true });
  });

  it.each([
    ['no name', undefined],
    ['an empty name', ''],
    ['a non-string name', 42],
  ])('refuses a reply with %s to a login without one: a protocol error', async (_what, named) => {
    const hub = await scripted(() => ({ type: 'login', success: true, name: named, token: 'tok' }));
    cleanups.push(hub.close);
    const error = await rejection(client(hub.url, { reconnect: false }).login());
    expect(error.message).toMatch(/protocol error: the login reply named .*, not an assigned name/);
  });

  it('takes another name than the one asked only with acceptAssignedName', async () => {
    const hub = await scripted(() => ({ type: 'login', success: true, name: 'user-42', token: 'tok' }));
    cleanups.push(hub.close);
    const strict = client(hub.url);
    expect((await rejection(strict.login('alice'))).message).toMatch(
      /protocol error: the login reply named "user-42", not "alice"/,
    );
    const lenient = client(hub.url, { acceptAssignedName: true });
    expect(await lenient.login('alice')).toEqual({ name: 'user-42', resumed: false });
    await until(() => lenient.name === 'user-42', 'the assigned name');
  });
});
