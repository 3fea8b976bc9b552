import wrtc from '@roamhq/wrtc';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MeshFullError, PeerConnectionManager, SignallingClient } from '../../src/client.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/** A logged-in client and its manager in mesh mode, driving real libwebrtc connections. */
interface MeshPeer {
  name: string;
  client: SignallingClient;
  calls: PeerConnectionManager;
  /** `peer:initiator` of each connection created. */
  created: string[];
  closed: string[];
}

describe('PeerConnectionManager mesh mode (real WebRTC via @roamhq/wrtc)', () => {
  const servers: HubServer[] = [];
  const peers: MeshPeer[] = [];
  /** Kept until the file ends: libwebrtc may call into a closed connection for a moment (see test/e2e/wrtc.test.ts). */
  const keptAlive: RTCPeerConnection[] = [];

  afterEach(async () => {
    for (const peer of peers.splice(0)) {
      peer.calls.close();
      await peer.client.close();
    }
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(() => {
    keptAlive.length = 0;
  });

  async function peer(url: string, name: string, maxMeshSize = 3, reconnectDelay = 50): Promise<MeshPeer> {
    const client = new SignallingClient(url, { WebSocket, reconnectDelay, maxReconnectDelay: reconnectDelay });
    await client.login(name);
    const calls = new PeerConnectionManager(client, { RTCPeerConnection: wrtc.RTCPeerConnection, maxMeshSize });
    const created: string[] = [];
    const closed: string[] = [];
    calls.on('connection', ({ peer: other, connection, initiator }) => {
      keptAlive.push(connection);
      created.push(`${other}:${initiator}`);
      if (initiator) connection.createDataChannel('chat');
    });
    calls.on('closed', ({ peer: other }) => closed.push(other));
    const entry = { name, client, calls, created, closed };
    peers.push(entry);
    return entry;
  }

  function connectedTo(entry: MeshPeer): string[] {
    return entry.calls.connectedPeers.filter((other) => entry.calls.get(other)?.connectionState === 'connected').sort();
  }

  it('the newcomer calls every member, all pairs connect; past maxMeshSize a newcomer is refused; a part hangs up', async () => {
    const server = await startHubServer();
    servers.push(server);
    const a = await peer(server.url, 'a');
    const b = await peer(server.url, 'b');
    const c = await peer(server.url, 'c');
    expect(await a.calls.joinRoom('mesh')).toEqual([]);
    expect(await b.calls.joinRoom('mesh')).toEqual(['a']);
    expect(await c.calls.joinRoom('mesh')).toEqual(['a', 'b']);
    expect(c.calls.meshRooms).toEqual(['mesh']);
    await until(() => [a, b, c].every((entry) => connectedTo(entry).length === 2), 'every pair connected', 20_000);
    expect(connectedTo(a)).toEqual(['b', 'c']);
    // Only the newcomer called: nobody had both sides initiate.
    expect(a.created.sort()).toEqual(['b:false', 'c:false']);
    expect(b.created.sort()).toEqual(['a:true', 'c:false']);
    expect(c.created.sort()).toEqual(['a:true', 'b:true']);

    // A fourth is one too many for maxMeshSize 3: it parts again without calling anyone.
    const d = await peer(server.url, 'd');
    const aHearsD = nextEvent(a.client, 'parted');
    const refused = await d.calls.joinRoom('mesh').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MeshFullError);
    expect(refused).toMatchObject({ code: 'SH_ERR_MESH_FULL', room: 'mesh', size: 4, max: 3 });
    expect(await aHearsD).toEqual({ room: 'mesh', name: 'd' });
    expect(d.created).toEqual([]);
    expect(d.client.rooms.size).toBe(0);
    expect(await server.hub.members('mesh')).toEqual(['a', 'b', 'c']);

    // c leaves: a and b hang up on it and keep their own call.
    await c.calls.partRoom('mesh');
    expect(c.closed.sort()).toEqual(['a', 'b']);
    await until(() => a.closed.includes('c') && b.closed.includes('c'), 'a and b to hang up on c');
    expect(connectedTo(a)).toEqual(['b']);
    expect(connectedTo(b)).toEqual(['a']);
    expect(c.calls.meshRooms).toEqual([]);
  }, 40_000);

  it('after a fresh login (the resume expired) the client joins again and calls every member afresh', async () => {
    const server = await startHubServer({ resumeGrace: 100 });
    servers.push(server);
    const proxy = await startTcpProxy(server.port);
    // Reconnects only after the grace: the hub forgot a, b heard it part.
    const a = await peer(`ws://127.0.0.1:${proxy.port}/`, 'a', 3, 600);
    const b = await peer(server.url, 'b');
    await a.calls.joinRoom('mesh');
    await b.calls.joinRoom('mesh');
    await until(() => connectedTo(a).length === 1 && connectedTo(b).length === 1, 'a and b connected', 20_000);
    const first = b.calls.get('a');

    const bHearsPart = nextEvent(b.client, 'parted', 5000);
    proxy.drop();
    expect(await bHearsPart).toEqual({ room: 'mesh', name: 'a' });
    expect(b.closed).toEqual(['a']);
    const bHearsJoin = nextEvent(b.client, 'joined', 5000);
    expect(await nextEvent(a.client, 'login', 5000)).toEqual({ name: 'a', resumed: false });
    expect(await bHearsJoin).toEqual({ room: 'mesh', name: 'a' });
    // a is the newcomer again: it calls b, and b answers with a new connection.
    await until(
      () => connectedTo(a).length === 1 && connectedTo(b).length === 1 && b.calls.get('a') !== first,
      'a and b connected again',
      20_000,
    );
    // First b was the newcomer and called a; after a's fresh login, a calls.
    expect(a.created).toEqual(['b:false', 'b:true']);
    expect(b.created).toEqual(['a:true', 'a:false']);
    await proxy.close();
  }, 40_000);

  it('refuses a maxMeshSize below 2', () => {
    const client = new SignallingClient('ws://127.0.0.1:1/', { WebSocket });
    expect(() => new PeerConnectionManager(client, { RTCPeerConnection: wrtc.RTCPeerConnection, maxMeshSize: 1 })).toThrow(
      /maxMeshSize/,
    );
  });
});
