import wrtc from '@roamhq/wrtc';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type IceServer, type IceServersEvent, PeerConnectionManager, SignallingClient } from '../../src/client.js';
import { type HubOptions } from '../../src/index.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { turnCredential } from '../helpers/coturn.js';

const SECRET = 'client-side-secret-5d1e';
const URLS = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'];

describe('SignallingClient and PeerConnectionManager with the hub’s ICE servers', () => {
  const servers: HubServer[] = [];
  const clients: SignallingClient[] = [];
  const managers: PeerConnectionManager<RTCPeerConnection>[] = [];
  /** Kept until the file ends: libwebrtc may call into a closed connection for a moment. */
  const keptAlive: RTCPeerConnection[] = [];

  afterEach(async () => {
    for (const manager of managers.splice(0)) manager.close();
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
    expect(keptAlive.filter((connection) => connection.signalingState !== 'closed')).toEqual([]);
  });
  afterAll(async () => {
    for (const connection of keptAlive) connection.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    keptAlive.length = 0;
  });

  async function hub(options: HubOptions): Promise<HubServer> {
    const server = await startHubServer(options);
    servers.push(server);
    return server;
  }

  function client(server: HubServer): { client: SignallingClient; events: IceServersEvent[] } {
    const created = new SignallingClient(server.url, { WebSocket });
    clients.push(created);
    const events: IceServersEvent[] = [];
    created.on('ice-servers', (event) => events.push(event));
    return { client: created, events };
  }

  /** A peer that is logged in and never answers: calls to it stay open. */
  async function silent(server: HubServer, name: string): Promise<void> {
    await client(server).client.login(name);
  }

  function manager(of: SignallingClient, configuration?: RTCConfiguration, PeerConnection = wrtc.RTCPeerConnection) {
    const calls = new PeerConnectionManager(of, { RTCPeerConnection: PeerConnection, configuration });
    calls.on('connection', ({ connection }) => keptAlive.push(connection));
    managers.push(calls);
    return calls;
  }

  it('has no servers and emits nothing when the hub hands out none', async () => {
    const server = await hub({});
    const { client: alice, events } = client(server);
    await alice.login('alice');
    expect(alice.iceServers).toBeUndefined();
    expect(events).toEqual([]);
    // The manager's own configuration is used as it is.
    const calls = manager(alice, { iceServers: [{ urls: 'stun:127.0.0.1:3478' }] });
    const connection = calls.call('bob');
    expect(connection.getConfiguration().iceServers).toEqual([{ urls: 'stun:127.0.0.1:3478' }]);
    calls.hangUp('bob');
  });

  it('exposes the login reply’s servers before login() resolves, then each pushed set, with an ice-servers event', async () => {
    const server = await hub({ turn: { secret: SECRET, urls: URLS, ttl: 2 } });
    const { client: alice, events } = client(server);
    let atLogin: IceServer[] | undefined;
    alice.on('login', () => (atLogin = alice.iceServers));
    await alice.login('alice');
    const first = alice.iceServers!;
    expect(atLogin).toBe(first);
    expect(events).toEqual([{ iceServers: first }]);
    expect(first).toHaveLength(1);
    expect(first[0]!.urls).toEqual(URLS);
    const expiry = Number(first[0]!.username!.split(':')[0]);
    expect(first[0]).toEqual({ urls: URLS, ...turnCredential(SECRET, 'alice', expiry) });

    // At about 80% of the 2 s TTL: fresh credentials (test/turn/relay.test.ts checks them against coturn).
    const { iceServers: fresh } = await nextEvent(alice, 'ice-servers', 4000);
    expect(alice.iceServers).toBe(fresh);
    const freshExpiry = Number(fresh![0]!.username!.split(':')[0]);
    expect(freshExpiry).toBeGreaterThan(expiry);
    expect(fresh![0]).toEqual({ urls: URLS, ...turnCredential(SECRET, 'alice', freshExpiry) });
    expect(events).toHaveLength(2);
  });

  it('ignores a malformed ice-servers push and keeps the servers it has', async () => {
    const server = await hub({ turn: { secret: SECRET, urls: URLS, ttl: 3600 } });
    const { client: alice, events } = client(server);
    await alice.login('alice');
    const servers = alice.iceServers;
    const others: unknown[] = [];
    alice.on('message', (message) => others.push(message));
    for (const iceServers of ['turn:x', [{ urls: 7 }], [null], [{ urls: ['turn:x', {}] }], [{ urls: [] }], [{ username: 'u' }]]) {
      await server.hub.send('alice', { type: 'ice-servers', iceServers });
    }
    await server.hub.send('alice', { type: 'marker' });
    await until(() => others.length === 1, 'the marker');
    expect(alice.iceServers).toBe(servers);
    expect(events).toHaveLength(1);
  });

  it('gives new connections configuration.iceServers followed by the hub’s, and live ones the refreshed set', async () => {
    const server = await hub({ turn: { secret: SECRET, urls: URLS, ttl: 2 } });
    const { client: alice } = client(server);
    await alice.login('alice');
    await silent(server, 'bob');
    await silent(server, 'carol');
    const stun = { urls: 'stun:127.0.0.1:3478' };
    const calls = manager(alice, { iceServers: [stun], iceTransportPolicy: 'relay' });
    const live = calls.call('bob');
    live.createDataChannel('chat');
    const credentialsOf = (connection: RTCPeerConnection) =>
      connection.getConfiguration().iceServers!.map(({ urls, username, credential }) => ({ urls, username, credential }));
    const first = alice.iceServers![0]!;
    expect(credentialsOf(live)).toEqual([
      { urls: stun.urls, username: undefined, credential: undefined },
      { urls: URLS, username: first.username, credential: first.credential },
    ]);
    expect(live.getConfiguration().iceTransportPolicy).toBe('relay');

    await nextEvent(alice, 'ice-servers', 4000);
    const fresh = alice.iceServers![0]!;
    expect(fresh.username).not.toBe(first.username);
    // The live connection was given the fresh credentials, its other settings unchanged.
    expect(credentialsOf(live)).toEqual([
      { urls: stun.urls, username: undefined, credential: undefined },
      { urls: URLS, username: fresh.username, credential: fresh.credential },
    ]);
    expect(live.getConfiguration().iceTransportPolicy).toBe('relay');
    // A new connection starts with them too.
    expect(credentialsOf(calls.call('carol'))).toEqual(credentialsOf(live));
  });

  it('reports a connection that refuses setConfiguration on error, and keeps the call', async () => {
    const server = await hub({ turn: { secret: SECRET, urls: URLS, ttl: 2 } });
    const { client: alice } = client(server);
    await alice.login('alice');
    await silent(server, 'bob');
    /** libwebrtc throws InvalidModificationError when setConfiguration changes the bundle policy. */
    class Picky extends wrtc.RTCPeerConnection {
      override setConfiguration(configuration: RTCConfiguration): void {
        super.setConfiguration({ ...configuration, bundlePolicy: 'max-compat' });
      }
    }
    const calls = manager(alice, {}, Picky);
    const closed: unknown[] = [];
    calls.on('closed', (event) => closed.push(event));
    const live = calls.call('bob');
    live.createDataChannel('chat');
    const { peer, error } = await nextEvent(calls, 'error', 4000);
    expect(peer).toBe('bob');
    expect((error.cause as Error).name).toBe('InvalidModificationError');
    expect(calls.get('bob')).toBe(live);
    expect(live.signalingState).not.toBe('closed');
    expect(closed).toEqual([]);
  });
});
