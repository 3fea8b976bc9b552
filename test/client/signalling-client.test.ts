import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { LoginError, NotLoggedInError, SignallingClient, type SignallingClientOptions } from '../../src/client.js';
import { SignallingHubError } from '../../src/index.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { TestClient } from '../helpers/test-client.js';

const offer = { type: 'offer' as const, sdp: 'v=0 offer' };
const answer = { type: 'answer' as const, sdp: 'v=0 answer' };
const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

describe('SignallingClient against a real hub', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function hubServer(): Promise<HubServer> {
    const server = await startHubServer();
    cleanups.push(() => server.close());
    return server;
  }

  function client(url: string, options: SignallingClientOptions = {}): SignallingClient {
    const created = new SignallingClient(url, { WebSocket, reconnectDelay: 50, maxReconnectDelay: 200, ...options });
    cleanups.push(() => created.close());
    return created;
  }

  it('logs in, and rejects a refused login with a typed error carrying the reason', async () => {
    const { url, hub } = await hubServer();
    const alice = client(url);
    expect(alice.state).toBe('idle');
    await expect(alice.login('alice')).resolves.toEqual({ name: 'alice', resumed: false });
    expect(alice.state).toBe('logged-in');
    expect(alice.name).toBe('alice');
    expect(hub.getPeer('alice')).toBeDefined();

    const other = client(url);
    const refused = await other.login('alice').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LoginError);
    expect(refused).toBeInstanceOf(SignallingHubError);
    expect((refused as LoginError).reason).toBe('name-taken');
    expect((refused as LoginError).name).toBe('LoginError');
    await expect(other.login('')).rejects.toMatchObject({ reason: 'invalid-name' });
    // The connection stays usable after refusals.
    expect(other.state).toBe('connected');
    await expect(other.login('carol')).resolves.toEqual({ name: 'carol', resumed: false });
  });

  it('rejects a second login() while one is pending, and relays before login', async () => {
    const { url } = await hubServer();
    const alice = client(url);
    expect(() => alice.offer('bob', offer)).toThrow(NotLoggedInError);
    const first = alice.login('alice');
    await expect(alice.login('alice')).rejects.toMatchObject({ reason: 'login-in-progress' });
    await first;
  });

  it('relays offer, answer, candidate and leave both ways, with the sender as `from`', async () => {
    const { url } = await hubServer();
    const alice = client(url);
    const bob = client(url);
    await Promise.all([alice.login('alice'), bob.login('bob')]);

    const gotOffer = nextEvent(bob, 'offer');
    alice.offer('bob', offer);
    expect(await gotOffer).toEqual({ from: 'alice', offer });

    const gotAnswer = nextEvent(alice, 'answer');
    bob.answer('alice', answer);
    expect(await gotAnswer).toEqual({ from: 'bob', answer });

    const toBob = nextEvent(bob, 'candidate');
    const toAlice = nextEvent(alice, 'candidate');
    alice.candidate('bob', candidate);
    bob.candidate('alice', candidate);
    expect(await toBob).toEqual({ from: 'alice', candidate });
    expect(await toAlice).toEqual({ from: 'bob', candidate });

    const gotLeave = nextEvent(alice, 'leave');
    bob.leave('alice');
    expect(await gotLeave).toEqual({ from: 'bob' });
  });

  it('emits server errors as typed `error` events and stays usable', async () => {
    const { url } = await hubServer();
    const alice = client(url);
    await alice.login('alice');
    const error = nextEvent(alice, 'error');
    alice.offer('nobody', offer);
    expect(await error).toMatchObject({ type: 'error', code: 'peer-not-found', request: 'offer', target: 'nobody' });
    expect(alice.state).toBe('logged-in');
  });

  it('hears `leave` when a call partner closes, and close() ends the session without reconnecting', async () => {
    const { url, hub } = await hubServer();
    const alice = client(url);
    const bob = client(url);
    await Promise.all([alice.login('alice'), bob.login('bob')]);
    const gotOffer = nextEvent(bob, 'offer');
    alice.offer('bob', offer);
    await gotOffer;
    const left = nextEvent(alice, 'leave');
    const closed = nextEvent(bob, 'close');
    await bob.close();
    expect(await closed).toEqual({ code: 1000, reason: 'closed by the client', reconnecting: false });
    expect(await left).toEqual({ from: 'bob' });
    expect(bob.state).toBe('closed');
    await until(() => hub.getPeer('bob') === undefined, 'the hub to release bob');
  });

  it('does not reconnect after a kick (4403): the host meant it', async () => {
    const { url, hub } = await hubServer();
    const alice = client(url);
    await alice.login('alice');
    let reconnects = 0;
    alice.on('reconnecting', () => reconnects++);
    const closed = nextEvent(alice, 'close');
    hub.disconnect('alice', 'bye');
    expect(await closed).toEqual({ code: 4403, reason: 'bye', reconnecting: false });
    expect(alice.state).toBe('closed');
    // The client decides in the turn it emits `close`, and emits `reconnecting` right then when it
    // will try again; its only reconnect timer does nothing in state `closed`. No wait can add to that.
    expect(reconnects).toBe(0);
    expect(hub.getPeer('alice')).toBeUndefined();
    expect(() => alice.offer('bob', offer)).toThrow(NotLoggedInError);
  });

  it('reconnects after the server loses the socket, logs in again, and sends relays held meanwhile', async () => {
    const { url, hub, server } = await hubServer();
    const sockets: Socket[] = [];
    server.on('connection', (socket) => sockets.push(socket));
    const alice = client(url);
    const bob = client(url);
    await Promise.all([alice.login('alice'), bob.login('bob')]);
    const aliceSocket = sockets[0]!;

    const closed = nextEvent(alice, 'close');
    const reconnecting = nextEvent(alice, 'reconnecting');
    aliceSocket.destroy();
    expect(await closed).toMatchObject({ code: 1006, reconnecting: true });
    expect(alice.state).toBe('reconnecting');
    const { attempt, delay } = await reconnecting;
    expect(attempt).toBe(1);
    expect(delay).toBeGreaterThanOrEqual(25);
    expect(delay).toBeLessThanOrEqual(50);

    // Held while reconnecting, sent after the automatic login.
    const gotOffer = nextEvent(bob, 'offer');
    alice.offer('bob', offer);
    expect(await nextEvent(alice, 'login')).toEqual({ name: 'alice', resumed: true });
    expect(await gotOffer).toEqual({ from: 'alice', offer });
    expect(alice.state).toBe('logged-in');
    expect(hub.getPeer('alice')).toBeDefined();
  });

  describe('through a proxy whose client side can be cut', () => {
    let proxy: TcpProxy;
    async function proxied(): Promise<{ hub: HubServer['hub']; url: string }> {
      const { hub, port } = await hubServer();
      proxy = await startTcpProxy(port);
      cleanups.push(() => proxy.close());
      return { hub, url: `ws://127.0.0.1:${proxy.port}/` };
    }

    it('takes its name back with the resume token after a blip the server has not noticed', async () => {
      const { hub, url } = await proxied();
      // The classic take-over (a resumable client's name would stay reserved, see test/resume).
      const alice = client(url, { resume: false });
      await alice.login('alice');
      const stale = hub.getPeer('alice')!;
      const left = nextEvent(hub, 'peer-left');
      proxy.cut();
      await nextEvent(alice, 'reconnecting');
      // The server still holds the name for the dead connection: a plain login is refused…
      expect(hub.getPeer('alice')).toBe(stale);
      const intruder = await TestClient.connect(url);
      expect(await intruder.login('alice')).toMatchObject({ success: false, reason: 'name-taken' });
      intruder.close();
      // …but the client's automatic login carries the token and takes it over.
      expect(await nextEvent(alice, 'login')).toEqual({ name: 'alice', resumed: true });
      expect(await left).toMatchObject({ name: 'alice', reason: 'replaced', code: 4409 });
      expect(hub.getPeer('alice')).not.toBe(stale);
    });

    it('retries with growing, jittered delays while the hub is unreachable, then gives up after maxReconnectAttempts', async () => {
      const { url } = await proxied();
      const alice = client(url, { maxReconnectAttempts: 3, reconnectDelay: 20, maxReconnectDelay: 60, random: () => 1 });
      await alice.login('alice');
      const delays: number[] = [];
      alice.on('reconnecting', ({ delay }) => delays.push(delay));
      await proxy.close();
      proxy.cut();
      const closes: boolean[] = [];
      alice.on('close', ({ reconnecting }) => closes.push(reconnecting));
      await until(() => alice.state === 'closed', 'the client to give up');
      expect(delays).toEqual([20, 40, 60]);
      expect(closes.at(-1)).toBe(false);
    });
  });

  it('gives up when the automatic login is refused for good (the name was taken meanwhile)', async () => {
    const { url, server } = await hubServer();
    const sockets: Socket[] = [];
    server.on('connection', (socket) => sockets.push(socket));
    const alice = client(url, { resume: false, reconnectDelay: 400, maxReconnectDelay: 400 });
    await alice.login('alice');
    sockets[0]!.destroy();
    await nextEvent(alice, 'reconnecting');
    const thief = client(url);
    await thief.login('alice');
    const final = await nextEvent(alice, 'close', 3000).then(async function loop(event): Promise<typeof event> {
      return event.reconnecting ? loop(await nextEvent(alice, 'close')) : event;
    });
    expect(final.reconnecting).toBe(false);
    expect(final.error).toBeInstanceOf(LoginError);
    expect(final.error?.reason).toBe('name-taken');
    expect(alice.state).toBe('closed');
  });

  it('rejects login() with `timeout` when the server never answers, and `connection-closed` when it cannot connect', async () => {
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => silent.once('listening', resolve));
    cleanups.push(() => new Promise((resolve) => silent.close(resolve)));
    const { port } = silent.address() as { port: number };
    const mute = client(`ws://127.0.0.1:${port}/`, { loginTimeout: 200 });
    await expect(mute.login('alice')).rejects.toMatchObject({ reason: 'timeout' });
    expect(mute.state).toBe('closed');

    const { port: freePort } = await hubServer().then(async (server) => {
      const { port: p } = server;
      await server.close();
      return { port: p };
    });
    const nowhere = client(`ws://127.0.0.1:${freePort}/`);
    await expect(nowhere.login('alice')).rejects.toMatchObject({ reason: 'connection-closed' });
    expect(nowhere.state).toBe('closed');
  });
});
