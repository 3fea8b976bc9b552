import { afterEach, describe, expect, it } from 'vitest';
import { SignallingHub } from '../../src/index.js';
import { until } from '../helpers/events.js';
import { MemoryClient } from '../helpers/memory-client.js';

/**
 * The hub keeps an open connection that is not logged in in a set, and finds a logged-in one by
 * its name (counting it apart): whatever state a connection passes through, `stats().connections`,
 * the per-address count and drain/close must see every open connection exactly once.
 */
describe('open connections across login, drop, resume and close', () => {
  let hub: SignallingHub;
  afterEach(async () => {
    await hub?.close();
  });

  const open = () => ({
    connections: hub.stats().connections,
    peers: hub.stats().peers,
    fromAddress: hub.adapterPort.connectionsFrom!('in-memory'),
  });

  it('counts each open connection once, logged in or not, and none once closed or dropped', async () => {
    hub = new SignallingHub({ resumeGrace: 5000 });
    const anonymous = new MemoryClient(hub);
    const alice = new MemoryClient(hub);
    const bob = new MemoryClient(hub);
    expect(open()).toEqual({ connections: 3, peers: 0, fromAddress: 3 });

    await alice.login('alice', { resume: true });
    await bob.login('bob');
    expect(open()).toEqual({ connections: 3, peers: 2, fromAddress: 3 });

    // A refused login leaves the connection open and counted.
    expect(await anonymous.login('alice')).toMatchObject({ success: false, reason: 'name-taken' });
    expect(open()).toEqual({ connections: 3, peers: 2, fromAddress: 3 });

    // Logging in again under the same name changes nothing.
    expect(await bob.login('bob')).toMatchObject({ success: true });
    expect(open()).toEqual({ connections: 3, peers: 2, fromAddress: 3 });

    // A dropped resumable peer keeps its name but not its connection.
    alice.abort();
    await until(() => hub.stats().droppedPeers === 1, 'the drop');
    expect(open()).toEqual({ connections: 2, peers: 1, fromAddress: 2 });

    bob.close(1000);
    await until(() => hub.stats().connections === 1, "bob's close");
    expect(open()).toEqual({ connections: 1, peers: 0, fromAddress: 1 });

    anonymous.close(1000);
    await until(() => hub.stats().connections === 0, 'the last close');
    expect(open()).toEqual({ connections: 0, peers: 0, fromAddress: 0 });
  });

  it('counts a resumed peer once and a replaced one not at all', async () => {
    hub = new SignallingHub({ resumeGrace: 5000 });
    const first = new MemoryClient(hub);
    const token = (await first.login('alice', { resume: true })).token as string;
    // A take-over with the token while the first connection is still open: it is closed with 4409.
    const second = new MemoryClient(hub);
    expect(await second.login('alice', { resume: true, token })).toMatchObject({ success: true, resumed: true });
    await first.closed;
    expect(open()).toEqual({ connections: 1, peers: 1, fromAddress: 1 });

    // A drop, then a resume from a new connection.
    const next = (await second.login('alice')).token as string;
    second.abort();
    await until(() => hub.stats().droppedPeers === 1, 'the drop');
    expect(open()).toEqual({ connections: 0, peers: 0, fromAddress: 0 });
    const third = new MemoryClient(hub);
    expect(await third.login('alice', { resume: true, token: next })).toMatchObject({ success: true, resumed: true });
    expect(open()).toEqual({ connections: 1, peers: 1, fromAddress: 1 });
  });

  it('closes every open connection on close() and drain(), logged in or not', async () => {
    hub = new SignallingHub({ resumeGrace: 0 });
    const clients = [new MemoryClient(hub), new MemoryClient(hub), new MemoryClient(hub)];
    await clients[0]!.login('a');
    await clients[1]!.login('b');
    expect(open()).toEqual({ connections: 3, peers: 2, fromAddress: 3 });
    await hub.drain({ timeout: 2000 });
    const codes = await Promise.all(clients.map(async (client) => (await client.closed).code));
    expect(codes).toEqual([1001, 1001, 1001]);
    expect(open()).toEqual({ connections: 0, peers: 0, fromAddress: 0 });
  });
});
