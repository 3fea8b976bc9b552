import { afterEach, describe, expect, it } from 'vitest';
import { type RedisBackplane, RedisTimeoutError } from '../../src/redis.js';
import {
  beforeNextHandOver,
  connected,
  hostOf,
  type FreezableProxy,
  leaves,
  loggedIn,
  resumable,
  sleep,
  startCall,
  startFreezableProxy,
  useRedisCluster,
  watchHub,
} from '../helpers/cluster.js';
import { until } from '../helpers/events.js';
import type { HubServer } from '../helpers/hub-server.js';

const backplaneOf = (node: HubServer) => node.hub.options.backplane as RedisBackplane;

/**
 * A resume across nodes when Redis stalls, or its answers or messages are
 * held: what only a real bus does to the hand-over (see resume.test.ts for
 * the protocol itself, through Redis and in memory).
 */
describe('resuming on another node while Redis stalls', () => {
  const cluster = useRedisCluster('rs');
  const { clients } = cluster;
  const proxies: FreezableProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  it('answers backplane-unavailable when Redis is stalled, and leaves one holder once it answers again', async () => {
    // Leases that outlast the stall: this is about the resume, not about nodes judged dead.
    const options = { commandTimeout: 300, leaseTtl: 10_000, heartbeatInterval: 1000 };
    const one = await cluster.node(options);
    const two = await cluster.node(options);
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    const back = await connected(two.url, clients);
    cluster.redis.pause();
    try {
      expect(await back.login('alice', { token, resume: true })).toMatchObject({
        success: false,
        reason: 'backplane-unavailable',
      });
      await sleep(300);
    } finally {
      cluster.redis.resume();
    }
    // The request that waited in Redis took no effect: node one still holds alice, and the token still works.
    expect(await backplaneOf(one).listNames()).toEqual(
      new Map([
        ['alice', backplaneOf(one).nodeId],
        ['bob', backplaneOf(two).nodeId],
      ]),
    );
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    expect(await backplaneOf(two).listNames()).toEqual(
      new Map([
        ['alice', backplaneOf(two).nodeId],
        ['bob', backplaneOf(two).nodeId],
      ]),
    );
    expect(onOne.left).toEqual([]);
    expect(leaves(bob)).toEqual([]);
  });

  it('when Redis stalls in the middle of the hand-over: backplane-unavailable, the move does not happen late, one holder remains', async () => {
    const options = { commandTimeout: 300, leaseTtl: 10_000, heartbeatInterval: 500 };
    const one = await cluster.node(options);
    const two = await cluster.node(options);
    const onOne = watchHub(one.hub);
    const onTwo = watchHub(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });
    await sleep(100);

    // Redis freezes the moment node one has set alice aside, before its hand-over reaches Redis.
    const handOver = beforeNextHandOver(one, () => cluster.redis.pause());
    const back = await connected(two.url, clients);
    try {
      expect(await back.login('alice', { token, resume: true })).toMatchObject({
        success: false,
        reason: 'backplane-unavailable',
      });
      await sleep(300);
    } finally {
      cluster.redis.resume();
    }
    expect(handOver.requests()).toBe(1);
    // Node one learns the hand-over never happened (its deadline passed) and keeps alice; the token still works.
    const deadline = Date.now() + 5000;
    let reply = await back.login('alice', { token, resume: true });
    while (reply.success !== true && Date.now() < deadline) {
      expect(reply).toMatchObject({ success: false });
      await sleep(200);
      reply = await back.login('alice', { token, resume: true });
    }
    expect(reply).toMatchObject({ success: true });
    expect(await back.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'held', name: 'bob' });
    expect(await backplaneOf(two).listNames()).toEqual(
      new Map([
        ['alice', backplaneOf(two).nodeId],
        ['bob', backplaneOf(two).nodeId],
      ]),
    );
    expect(onOne.left).toEqual([]);
    expect(onTwo.resumed).toHaveLength(1);
    expect(onOne.errors.some((error) => error instanceof RedisTimeoutError)).toBe(true);
    // A sentinel from node one through the path a leave from it would take: none came before it.
    expect(await one.hub.send('bob', { type: 'sentinel' })).toBe(true);
    expect(await bob.nextOf('sentinel')).toEqual({ type: 'sentinel' });
    expect(leaves(bob)).toEqual([]);
  });

  it('settles a hand-over whose answer was lost by what Redis did, not by the timeout', async () => {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    const options = { commandTimeout: 300, leaseTtl: 10_000, heartbeatInterval: 500 };
    const one = await cluster.node({ ...options, url: proxy.url });
    const two = await cluster.node(options);
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // Node one's hand-over reaches Redis and takes effect, but nothing Redis says reaches node one for a while.
    beforeNextHandOver(one, () => proxy.freeze('replies'));
    const back = await connected(two.url, clients);
    try {
      expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
      // Past node one's commandTimeout: its hand-over call has timed out.
      await sleep(800);
    } finally {
      proxy.thaw();
    }
    await sleep(500);
    // Node one let alice go without a leave: closing it now tells bob nothing.
    await one.close();
    await sleep(300);
    expect(onOne.left).toEqual([]);
    expect(leaves(bob)).toEqual([]);
    bob.send({ type: 'candidate', candidate: 'after', name: 'alice' });
    expect(await back.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'after', name: 'bob' });
  });

  it('delivers relays read together with the grant after the login reply, not before it has joined', async () => {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    const one = await cluster.node();
    const two = await cluster.node({ url: proxy.url });
    const three = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const dave = await loggedIn(three.url, 'dave', clients);
    await startCall(dave, 'dave', alice, 'alice');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // What Redis sends node two from the hand-over on is held, then comes in one read: the grant, then dave's relay.
    const handOver = beforeNextHandOver(one, () => proxy.freeze('replies'));
    const back = await connected(two.url, clients);
    const login = back.login('alice', { token, resume: true });
    await until(() => handOver.requests() > 0, 'the hand-over request on node one');
    await sleep(100);
    dave.send({ type: 'candidate', candidate: 'right behind the grant', name: 'alice' });
    await sleep(100);
    proxy.thaw();
    expect(await login).toMatchObject({ success: true });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: 'right behind the grant', name: 'dave' });
    expect(leaves(dave)).toEqual([]);
    expect(dave.inbox.filter((frame) => frame.type === 'error')).toEqual([]);
  });

  it('settles the hand-over only once node one has read what was published to it before the move', async () => {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    const one = await cluster.node({ url: proxy.url });
    const two = await cluster.node();
    const three = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const dave = await loggedIn(three.url, 'dave', clients);
    await startCall(dave, 'dave', alice, 'alice');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // Node one's hand-over waits before Redis (its command connection, 0), and what is published to it is held (its subscription, 1).
    const handOver = beforeNextHandOver(one, () => {
      proxy.freeze('requests', 0);
      proxy.freeze('replies', 1);
    });
    const back = await connected(two.url, clients);
    const login = back.login('alice', { token, resume: true });
    await until(() => handOver.requests() > 0, 'the hand-over request on node one');
    // Published to node one, which still holds alice in Redis; node one reads it only after the move is done.
    dave.send({ type: 'candidate', candidate: 'published before the move', name: 'alice' });
    await sleep(100);
    proxy.thaw(0);
    await sleep(100);
    proxy.thaw(1);
    expect(await login).toMatchObject({ success: true });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: 'published before the move', name: 'dave' });
    expect(dave.inbox.filter((frame) => frame.type === 'error' || frame.type === 'leave')).toEqual([]);
  });

  it('keeps waiting for the grant for two commandTimeouts when the request itself is answered late', async () => {
    const [proxyOne, proxyTwo] = [await startFreezableProxy(cluster.redis.port), await startFreezableProxy(cluster.redis.port)];
    proxies.push(proxyOne, proxyTwo);
    const options = { commandTimeout: 1000, leaseTtl: 10_000, heartbeatInterval: 1000 };
    const one = await cluster.node({ ...options, url: proxyOne.url });
    const two = await cluster.node({ ...options, url: proxyTwo.url });
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(one.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // Node two's request runs but its answer is held past commandTimeout; node one reads it after 1.25 commandTimeouts.
    proxyTwo.freeze('replies', 0);
    proxyOne.freeze('replies', 1);
    const back = await connected(two.url, clients);
    const login = back.login('alice', { token, resume: true });
    await sleep(1250);
    proxyOne.thaw(1);
    try {
      expect(await login).toMatchObject({ success: true });
    } finally {
      proxyTwo.thaw(0);
    }
    // A sentinel from node one (bob's node) through the path a leave would take: none came before it.
    expect(await one.hub.send('bob', { type: 'sentinel' })).toBe(true);
    expect(await bob.nextOf('sentinel')).toEqual({ type: 'sentinel' });
    expect(leaves(bob)).toEqual([]);
    expect(onOne.left).toEqual([]);
  });

  it('ends the peer as on expiry when the grant comes after node two gave up: peer-gone, leave, the name free', async () => {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    const options = { commandTimeout: 300, leaseTtl: 10_000, heartbeatInterval: 1000 };
    const one = await cluster.node(options);
    const two = await cluster.node({ ...options, url: proxy.url });
    const onOne = watchHub(one.hub);
    const onTwo = watchHub(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(one.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });

    // Node two's subscription (connection 1) hears nothing until it has answered the login.
    proxy.freeze('replies', 1);
    const back = await connected(two.url, clients);
    try {
      expect(await back.login('alice', { token, resume: true })).toMatchObject({
        success: false,
        reason: 'backplane-unavailable',
      });
    } finally {
      proxy.thaw(1);
    }
    expect(await bob.nextOf('error')).toMatchObject({ code: 'peer-gone', target: 'alice', request: 'candidate' });
    expect(await bob.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
    expect(onTwo.errors).toEqual([
      expect.objectContaining({ code: 'SH_ERR_BACKPLANE', message: expect.stringMatching(/arrived after its resume/) }),
    ]);
    expect(await back.login('alice')).toMatchObject({ success: true });
    expect(onOne.left).toEqual([]);
  });

  it('keeps a grant that came after node two gave up, for the next attempt of its peer: resumed, nothing lost, nobody told peer-gone or leave (#17 item 5)', async () => {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    const options = { commandTimeout: 300, leaseTtl: 10_000, heartbeatInterval: 1000 };
    const one = await cluster.node(options);
    const two = await cluster.node({ ...options, url: proxy.url });
    const onOne = watchHub(one.hub);
    const onTwo = watchHub(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(one.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });

    // Node two's subscription (connection 1) hears nothing until it has answered the login.
    proxy.freeze('replies', 1);
    const first = await connected(two.url, clients);
    try {
      expect(await first.login('alice', { token, resume: true })).toMatchObject({
        success: false,
        reason: 'backplane-unavailable',
      });
    } finally {
      proxy.thaw(1);
    }
    const again = await connected(two.url, clients);
    expect(await again.login('alice', { token, resume: true })).toMatchObject({ success: true, resumed: true });
    expect(await again.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'held', name: 'bob' });
    bob.send({ type: 'candidate', candidate: 'after', name: 'alice' });
    expect(await again.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'after', name: 'bob' });
    again.send({ type: 'candidate', candidate: 'back', name: 'bob' });
    expect(await bob.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'back', name: 'alice' });
    expect(bob.inbox.filter((frame) => frame.type === 'error' || frame.type === 'leave')).toEqual([]);
    expect(onOne.left).toEqual([]);
    expect(onTwo.left).toEqual([]);
  });

  it('hands over a peer held to its bounds with the smallest maxInFlightBytes: the grant limit comes from the resume bounds (#17 item 2)', async () => {
    const one = await cluster.node({ maxInFlightBytes: 65536 });
    const two = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    const carol = await loggedIn(one.url, 'carol', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    // About 240 KB held for alice (resumeMaxBytes is 256 KiB), every character one JSON escapes again.
    const count = 8;
    const filler = '"\\'.repeat(5000);
    for (let n = 0; n < count; n++) bob.send({ type: 'candidate', candidate: { n, sdp: filler }, name: 'alice' });
    // A sentinel through the same path (bob's envelopes reach node one in order): once carol has it, alice's are held.
    bob.send({ type: 'candidate', candidate: 'sentinel', name: 'carol' });
    await carol.nextOf('candidate');
    const back = await connected(two.url, clients);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true, resumed: true });
    for (let n = 0; n < count; n++) expect(await back.nextOf('candidate')).toMatchObject({ candidate: { n } });
    expect(bob.inbox.filter((frame) => frame.type === 'error')).toEqual([]);
    expect(onOne.errors).toEqual([]);
  });

  it('does not hand over a grant larger than the worst case of the resume bounds (held beyond them): backplane-unavailable, reported, and the peer stays held', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    // A host that holds more than it says it does: its grant exceeds what its bounds allow.
    const host = hostOf(one);
    const handOverRequested = host.handOverRequested.bind(host);
    host.handOverRequested = (name, resumeToken) => {
      const offered = handOverRequested(name, resumeToken);
      if (offered === undefined) return undefined;
      const frame = JSON.stringify({ type: 'candidate', candidate: 'x'.repeat(60_000), name: 'bob' });
      const parked = Array.from({ length: 64 }, () => ({
        kind: 'candidate' as const,
        from: 'bob',
        fromNode: backplaneOf(two).nodeId,
        to: name,
        frame,
      }));
      return { ...offered, grant: { ...offered.grant, parked } };
    };
    const back = await connected(two.url, clients);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({
      success: false,
      reason: 'backplane-unavailable',
    });
    expect(onOne.errors).toEqual([
      expect.objectContaining({ code: 'SH_ERR_BACKPLANE', message: expect.stringMatching(/worst case of resumeMaxMessages/) }),
    ]);
    expect(await backplaneOf(one).listNames()).toEqual(
      new Map([
        ['alice', backplaneOf(one).nodeId],
        ['bob', backplaneOf(two).nodeId],
      ]),
    );
    expect(onOne.left).toEqual([]);
    expect(leaves(bob)).toEqual([]);
  });
});
