import { afterEach, describe, expect, it } from 'vitest';
import { BackplaneError, InvalidOptionError, MemoryCluster } from '../../src/index.js';
import { connected, leaves, loggedIn, resumable, startCall, watchHub } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import type { TestClient } from '../helpers/test-client.js';

/** What a MemoryCluster offers beyond the protocol suites it shares with Redis (clusterSuite). */
describe('MemoryCluster', () => {
  const nodes: HubServer[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
  });

  async function node(cluster: MemoryCluster, nodeId?: string, commandTimeout?: number): Promise<HubServer> {
    const started = await startHubServer({ backplane: cluster.backplane(nodeId, { commandTimeout }) });
    nodes.push(started);
    await started.hub.ready;
    return started;
  }

  it('validates its options like the other backplanes', () => {
    const cluster = new MemoryCluster();
    expect(() => cluster.backplane('two words')).toThrow(InvalidOptionError);
    expect(() => cluster.backplane('n', { commandTimeout: 0 })).toThrow(/commandTimeout/);
    expect(() => cluster.backplane('n', { commandTimout: 5 } as never)).toThrow(/did you mean commandTimeout\?/);
    expect(cluster.backplane().nodeId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a second live node with the same id, and takes the id again once it is gone', async () => {
    const cluster = new MemoryCluster();
    const first = await node(cluster, 'same');
    const twin = cluster.backplane('same');
    const host = { error: () => {}, stateChanged: () => {} } as unknown as Parameters<typeof twin.start>[0];
    await expect(twin.start(host)).rejects.toBeInstanceOf(BackplaneError);
    await first.close();
    nodes.splice(nodes.indexOf(first), 1);
    const again = await node(cluster, 'same');
    expect(await (again.hub.options.backplane as ReturnType<MemoryCluster['backplane']>).listNodes()).toEqual(['same']);
  });

  it('holds what is published to a node until released, then delivers it in order', async () => {
    const cluster = new MemoryCluster();
    const [one, two] = [await node(cluster, 'one'), await node(cluster, 'two')];
    const sender = await loggedIn(one.url, 'Sender', clients);
    const receiver = await loggedIn(two.url, 'Receiver', clients);
    const release = cluster.hold('two');
    for (let n = 0; n < 20; n++) sender.send({ type: 'candidate', candidate: { n }, name: 'Receiver' });
    // A sentinel through the other direction, which is not held: once it arrived, the held ones had their turn.
    receiver.send({ type: 'candidate', candidate: 'sentinel', name: 'Sender' });
    expect(await sender.nextOf('candidate')).toMatchObject({ candidate: 'sentinel' });
    expect(receiver.inbox).toEqual([]);
    release();
    for (let n = 0; n < 20; n++) expect(await receiver.next()).toEqual({ type: 'candidate', candidate: { n }, name: 'Sender' });
  });

  it('a crashed node frees its names and its partners on other nodes hear leave', async () => {
    const cluster = new MemoryCluster();
    const [one, two] = [await node(cluster, 'one'), await node(cluster, 'two')];
    const onOne = await loggedIn(one.url, 'Doomed', clients);
    const onTwo = await loggedIn(two.url, 'Partner', clients);
    await startCall(onTwo, 'Partner', onOne, 'Doomed');
    cluster.crash('one');
    expect(await onTwo.nextOf('leave')).toEqual({ type: 'leave', name: 'Doomed' });
    expect(cluster.nodes()).toEqual(['two']);
    const taker = await loggedIn(two.url, 'Doomed', clients);
    onTwo.send({ type: 'offer', offer: { sdp: 'to the new holder' }, name: 'Doomed' });
    expect(await taker.nextOf('offer')).toMatchObject({ name: 'Partner' });
    expect(() => cluster.crash('one')).toThrow(/a live node/);
  });

  it('ends the peer as on expiry when the grant comes after the resuming node gave up: peer-gone, leave, the name free', async () => {
    const cluster = new MemoryCluster();
    const [one, two] = [await node(cluster, 'one', 200), await node(cluster, 'two', 200)];
    const onOne = watchHub(one.hub);
    const onTwo = watchHub(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(one.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });

    // Node two hears nothing (the grant among it) until it has answered the login.
    const release = cluster.hold('two');
    const back = await connected(two.url, clients);
    try {
      expect(await back.login('alice', { token, resume: true })).toMatchObject({
        success: false,
        reason: 'backplane-unavailable',
      });
    } finally {
      release();
    }
    expect(await bob.nextOf('error')).toMatchObject({ code: 'peer-gone', target: 'alice', request: 'candidate' });
    expect(await bob.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
    expect(onTwo.errors).toEqual([
      expect.objectContaining({ code: 'SH_ERR_BACKPLANE', message: expect.stringMatching(/arrived after its resume/) }),
    ]);
    expect(await back.login('alice')).toMatchObject({ success: true });
    expect(onOne.left).toEqual([]);
    expect(leaves(bob)).toEqual([]);
  });

  it('keeps a grant that came after the resuming node gave up, for the next attempt of its peer: resumed, nothing lost, nobody told peer-gone or leave (#17 item 5)', async () => {
    const cluster = new MemoryCluster();
    const [one, two] = [await node(cluster, 'one', 200), await node(cluster, 'two', 200)];
    const onOne = watchHub(one.hub);
    const onTwo = watchHub(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(one.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });

    // Node two hears nothing (the grant among it) until it has answered the login.
    const release = cluster.hold('two');
    const first = await connected(two.url, clients);
    try {
      expect(await first.login('alice', { token, resume: true })).toMatchObject({
        success: false,
        reason: 'backplane-unavailable',
      });
    } finally {
      release();
    }
    // The peer tries again, as its client does on backplane-unavailable.
    const again = await connected(two.url, clients);
    expect(await again.login('alice', { token, resume: true })).toMatchObject({ success: true, resumed: true });
    expect(await again.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'held', name: 'bob' });
    // The call goes on: a sentinel each way through the same path, then nothing else was heard.
    bob.send({ type: 'candidate', candidate: 'after', name: 'alice' });
    expect(await again.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'after', name: 'bob' });
    again.send({ type: 'candidate', candidate: 'back', name: 'bob' });
    expect(await bob.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'back', name: 'alice' });
    expect(bob.inbox.filter((frame) => frame.type === 'error' || frame.type === 'leave')).toEqual([]);
    expect(onOne.left).toEqual([]);
    expect(onTwo.left).toEqual([]);
  });

  it('hands a kept grant on when the peer tries again on a third node', async () => {
    const cluster = new MemoryCluster();
    const [one, two, three] = [
      await node(cluster, 'one', 200),
      await node(cluster, 'two', 200),
      await node(cluster, 'three', 200),
    ];
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(one.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });
    const release = cluster.hold('two');
    const first = await connected(two.url, clients);
    try {
      expect(await first.login('alice', { token, resume: true })).toMatchObject({
        success: false,
        reason: 'backplane-unavailable',
      });
    } finally {
      release();
    }
    const again = await connected(three.url, clients);
    expect(await again.login('alice', { token, resume: true })).toMatchObject({ success: true, resumed: true });
    expect(await again.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'held', name: 'bob' });
    bob.send({ type: 'candidate', candidate: 'after', name: 'alice' });
    expect(await again.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'after', name: 'bob' });
    expect(bob.inbox.filter((frame) => frame.type === 'error' || frame.type === 'leave')).toEqual([]);
  });

  it('a node back after others took its name loses it: its holder is closed with 4410, one holder remains', async () => {
    const cluster = new MemoryCluster();
    const [one, two] = [await node(cluster, 'one'), await node(cluster, 'two')];
    const states: string[] = [];
    one.hub.on('backplane-state', (state) => states.push(state));
    const left = watchHub(one.hub).left;
    const first = await loggedIn(one.url, 'Split', clients);
    const kept = await loggedIn(one.url, 'Kept', clients);
    cluster.crash('one');
    const second = await loggedIn(two.url, 'Split', clients);
    // Node one still serves its holder while it is cut off: both hold the name, each on its node.
    expect(one.hub.getPeer('Split')).toBeDefined();
    cluster.restore('one');
    expect((await first.closed).code).toBe(4410);
    expect(left).toEqual([expect.objectContaining({ name: 'Split', reason: 'claim-lost', code: 4410 })]);
    expect(states).toEqual(['disconnected', 'connected']);
    // One holder: node two's, reached from node one too; node one kept its other name.
    kept.send({ type: 'offer', offer: { sdp: 'from one' }, name: 'Split' });
    expect(await second.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: 'from one' }, name: 'Kept' });
    const fromTwo = await loggedIn(two.url, 'FromTwo', clients);
    fromTwo.send({ type: 'offer', offer: { sdp: 'from two' }, name: 'Kept' });
    expect(await kept.nextOf('offer')).toMatchObject({ name: 'FromTwo' });
    expect(() => cluster.restore('one')).toThrow(/a crashed node/);
  });
});
