import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RoomError, SignallingClient } from '../../src/client.js';
import { nextEvent } from '../helpers/events.js';
import { startHubServer } from '../helpers/hub-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

describe('SignallingClient rooms against a real hub', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function client(url: string): SignallingClient {
    const created = new SignallingClient(url, { WebSocket, reconnectDelay: 50, maxReconnectDelay: 200 });
    cleanups.push(() => created.close());
    return created;
  }

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
