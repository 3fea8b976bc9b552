import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  RoomError,
  NotLoggedInError,
  SignallingClient,
  type SignallingClientOptions,
  InvalidArgumentError,
} from '../../src/client.js';
import type { HubOptions } from '../../src/index.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

describe('SignallingClient rooms against a real hub', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function hubServer(options?: HubOptions): Promise<HubServer> {
    const server = await startHubServer(options);
    cleanups.push(() => server.close());
    return server;
  }

  function client(url: string, options: SignallingClientOptions = {}): SignallingClient {
    const created = new SignallingClient(url, { WebSocket, reconnectDelay: 50, maxReconnectDelay: 200, ...options });
    cleanups.push(() => created.close());
    return created;
  }

  async function loggedIn(url: string, name: string, options?: SignallingClientOptions): Promise<SignallingClient> {
    const created = client(url, options);
    await created.login(name);
    return created;
  }

  it('joins (members in join order), hears joins, parts and broadcasts, and parts', async () => {
    const { url, hub } = await hubServer();
    const alice = await loggedIn(url, 'alice');
    const bob = await loggedIn(url, 'bob');
    const carol = await loggedIn(url, 'carol');
    expect(await alice.join('r')).toEqual([]);
    expect([...alice.rooms]).toEqual(['r']);

    const aliceHearsBob = nextEvent(alice, 'joined');
    const bobJoined = nextEvent(bob, 'room-joined');
    expect(await bob.join('r')).toEqual(['alice']);
    expect(await bobJoined).toEqual({ room: 'r', members: ['alice'], rejoined: false });
    expect(await aliceHearsBob).toEqual({ room: 'r', name: 'bob' });
    expect(await carol.join('r')).toEqual(['alice', 'bob']);

    const toAlice = nextEvent(alice, 'broadcast');
    const toBob = nextEvent(bob, 'broadcast');
    carol.broadcast('r', { text: 'hi', n: 1 });
    expect(await toAlice).toEqual({ room: 'r', from: 'carol', data: { text: 'hi', n: 1 } });
    expect(await toBob).toEqual({ room: 'r', from: 'carol', data: { text: 'hi', n: 1 } });

    const fromHost = nextEvent(alice, 'broadcast');
    await hub.broadcast('r', 'from the host');
    expect(await fromHost).toEqual({ room: 'r', from: undefined, data: 'from the host' });

    const aliceHearsPart = nextEvent(alice, 'parted');
    const bobParted = nextEvent(bob, 'room-parted');
    const bobPart = bob.part('r');
    expect(bob.rooms.size).toBe(0);
    await bobPart;
    expect(await bobParted).toEqual({ room: 'r', reason: 'part' });
    expect(await aliceHearsPart).toEqual({ room: 'r', name: 'bob' });
    expect(() => bob.broadcast('r', 1)).toThrow(InvalidArgumentError);

    // A member whose connection closes parts for the others too.
    const carolGone = nextEvent(alice, 'parted');
    await carol.close();
    expect(await carolGone).toEqual({ room: 'r', name: 'carol' });
    expect(carol.rooms.size).toBe(0);
  });

  it('rejects a refused join with a typed RoomError carrying the reason and message', async () => {
    const { url } = await hubServer({
      maxRoomMembers: 1,
      maxRoomsPerPeer: 2,
      authorizeJoin: ({ room }) => room !== 'secret',
    });
    const alice = await loggedIn(url, 'alice');
    const bob = await loggedIn(url, 'bob');
    await alice.join('full');

    const full = await bob.join('full').catch((error: unknown) => error);
    expect(full).toBeInstanceOf(RoomError);
    expect(full).toMatchObject({ code: 'SH_ERR_ROOM', reason: 'room-full', room: 'full', name: 'RoomError' });
    expect((full as RoomError).message).not.toBe('');
    await expect(bob.join('secret')).rejects.toMatchObject({ reason: 'forbidden', room: 'secret' });
    await expect(bob.join('')).rejects.toMatchObject({ reason: 'invalid-room' });
    await bob.join('one');
    await bob.join('two');
    await expect(bob.join('three')).rejects.toMatchObject({ reason: 'too-many-rooms', room: 'three' });
    expect([...bob.rooms]).toEqual(['one', 'two']);

    const stranger = client(url);
    await expect(stranger.join('r')).rejects.toBeInstanceOf(NotLoggedInError);
    expect(() => stranger.broadcast('r', 1)).toThrow(NotLoggedInError);
  });

  it('joins its rooms again by itself after a fresh login (the resume expired)', async () => {
    const { hub, port } = await hubServer({ resumeGrace: 100 });
    const proxy = await startTcpProxy(port);
    cleanups.push(() => proxy.close());
    const url = `ws://127.0.0.1:${proxy.port}/`;
    // Reconnects only after the grace has passed: the hub has forgotten alice and her rooms.
    const alice = await loggedIn(url, 'alice', { reconnectDelay: 600, maxReconnectDelay: 600 });
    const bob = await loggedIn(`ws://127.0.0.1:${port}/`, 'bob');
    await alice.join('r');
    await alice.join('s');
    await bob.join('r');

    const bobHearsPart = nextEvent(bob, 'parted', 5000);
    const rejoins: Array<{ room: string; members: string[]; rejoined: boolean }> = [];
    alice.on('room-joined', (event) => rejoins.push(event));
    proxy.drop();
    expect(await bobHearsPart).toEqual({ room: 'r', name: 'alice' });
    const bobHearsJoin = nextEvent(bob, 'joined', 5000);
    expect(await nextEvent(alice, 'login', 5000)).toEqual({ name: 'alice', resumed: false });
    expect(await bobHearsJoin).toEqual({ room: 'r', name: 'alice' });
    await until(() => rejoins.length === 2, 'both rooms joined again');
    expect(rejoins).toEqual([
      { room: 'r', members: ['bob'], rejoined: true },
      { room: 's', members: [], rejoined: true },
    ]);
    expect([...alice.rooms]).toEqual(['r', 's']);
    expect(await hub.members('r')).toEqual(['bob', 'alice']);

    // Broadcasts work both ways in the new session.
    const toBob = nextEvent(bob, 'broadcast');
    alice.broadcast('r', 'back');
    expect(await toBob).toEqual({ room: 'r', from: 'alice', data: 'back' });
  });

  it('sends nothing again after a resume (the hub kept the rooms), and holds broadcasts made while reconnecting', async () => {
    const { hub, port } = await hubServer({ resumeGrace: 10000 });
    const proxy = await startTcpProxy(port);
    cleanups.push(() => proxy.close());
    const alice = await loggedIn(`ws://127.0.0.1:${proxy.port}/`, 'alice');
    const bob = await loggedIn(`ws://127.0.0.1:${port}/`, 'bob');
    await alice.join('r');
    await bob.join('r');

    const seenByBob: string[] = [];
    bob.on('joined', ({ name }) => seenByBob.push(`joined ${name}`));
    bob.on('parted', ({ name }) => seenByBob.push(`parted ${name}`));
    const joinReplies: string[] = [];
    alice.on('room-joined', ({ room }) => joinReplies.push(room));

    proxy.drop();
    await nextEvent(alice, 'reconnecting');
    // Made while reconnecting: held in the outbox and sent after the resume, in order.
    alice.broadcast('r', 'held 1');
    alice.broadcast('r', 'held 2');
    const received: unknown[] = [];
    bob.on('broadcast', ({ data }) => received.push(data));
    expect(await nextEvent(alice, 'login', 5000)).toEqual({ name: 'alice', resumed: true });
    // A sentinel after the held broadcasts: any join sent again would have reached the hub before it.
    alice.broadcast('r', 'sentinel');
    await until(() => received.includes('sentinel'), 'the sentinel broadcast');
    expect(received).toEqual(['held 1', 'held 2', 'sentinel']);
    expect(seenByBob).toEqual([]);
    // A join of alice's own as a barrier: the reply to a join of 'r' sent again would have come before its reply.
    await alice.join('barrier');
    expect(joinReplies).toEqual(['barrier']);
    expect([...alice.rooms]).toEqual(['r', 'barrier']);
    expect(await hub.members('r')).toEqual(['alice', 'bob']);
  });

  it('a part made while reconnecting reaches the hub after the resume; a pending join fails when the client closes', async () => {
    const { port } = await hubServer({ resumeGrace: 10000 });
    const proxy = await startTcpProxy(port);
    cleanups.push(() => proxy.close());
    const alice = await loggedIn(`ws://127.0.0.1:${proxy.port}/`, 'alice');
    const bob = await loggedIn(`ws://127.0.0.1:${port}/`, 'bob');
    await alice.join('r');
    await bob.join('r');
    proxy.drop();
    await nextEvent(alice, 'reconnecting');
    await alice.part('r');
    const pending = alice.join('later');
    expect(await nextEvent(bob, 'parted', 5000)).toEqual({ room: 'r', name: 'alice' });
    expect(await pending).toEqual([]);
    expect([...alice.rooms]).toEqual(['later']);

    await proxy.close();
    proxy.drop();
    await nextEvent(alice, 'reconnecting');
    const never = alice.join('never');
    await alice.close();
    await expect(never).rejects.toMatchObject({ reason: 'connection-closed', room: 'never' });
    expect(alice.rooms.size).toBe(0);
  });

  it('joins, hears joined, parted and broadcasts, parts, and rejects refusals with a typed error', async () => {
    const server = await startHubServer({ maxRoomMembers: 2 });
    cleanups.push(() => server.close());
    const [alice, bob, carol] = [client(server.url), client(server.url), client(server.url)];
    await alice.login('alice');
    await bob.login('bob');
    await carol.login('carol');
    await expect(alice.join('R')).resolves.toEqual([]);
    const joined = nextEvent(alice, 'joined');
    await expect(bob.join('R')).resolves.toEqual(['alice']);
    expect(await joined).toEqual({ room: 'R', name: 'bob' });
    expect([...bob.rooms]).toEqual(['R']);
    const full = await carol.join('R').catch((error: unknown) => error);
    expect(full).toBeInstanceOf(RoomError);
    expect(full).toMatchObject({ reason: 'room-full', room: 'R', code: 'SH_ERR_ROOM' });
    await expect(carol.part('R')).rejects.toMatchObject({ reason: 'not-in-room', room: 'R' });

    const heard = nextEvent(bob, 'broadcast');
    expect(alice.broadcast('R', { chat: 'hi' })).toBe(true);
    expect(await heard).toEqual({ room: 'R', from: 'alice', data: { chat: 'hi' } });
    const hostHeard = nextEvent(alice, 'broadcast');
    await server.hub.broadcast('R', 'from the host');
    expect(await hostHeard).toEqual({ room: 'R', from: undefined, data: 'from the host' });

    const parted = nextEvent(alice, 'parted');
    await bob.part('R');
    expect(await parted).toEqual({ room: 'R', name: 'bob' });
    expect(bob.rooms.size).toBe(0);
  });

  it('joins its rooms again by itself after a fresh login (the hub forgot the session)', async () => {
    const server = await startHubServer({ resumeGrace: 0 });
    cleanups.push(() => server.close());
    const proxy = await startTcpProxy(server.port);
    cleanups.push(() => proxy.close());
    const alice = client(server.url);
    const bob = client(`ws://127.0.0.1:${proxy.port}/`);
    await alice.login('alice');
    await bob.login('bob');
    await alice.join('R');
    const joined = nextEvent(alice, 'joined');
    await bob.join('R');
    await joined;
    const parted = nextEvent(alice, 'parted');
    proxy.drop();
    expect(await parted).toEqual({ room: 'R', name: 'bob' });
    const rejoined = nextEvent(alice, 'joined');
    expect(await nextEvent(bob, 'login')).toEqual({ name: 'bob', resumed: false });
    expect(await rejoined).toEqual({ room: 'R', name: 'bob' });
    expect(await server.hub.members('R')).toEqual(['alice', 'bob']);
  });
});
