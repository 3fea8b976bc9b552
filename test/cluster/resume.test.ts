import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackplaneHost, PeerDropped, PeerLeft, PeerResumed, SignallingHub, SignallingHubError } from '../../src/index.js';
import type { RedisBackplane } from '../../src/redis.js';
import { type FreezableProxy, loggedIn, sleep, startCall, startFreezableProxy, useRedisCluster } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';
import type { HubServer } from '../helpers/hub-server.js';
import { type Frame, TestClient } from '../helpers/test-client.js';

/** What a hub emitted about its peers and failures. */
function watch(hub: SignallingHub) {
  const events = {
    dropped: [] as PeerDropped[],
    resumed: [] as PeerResumed[],
    left: [] as PeerLeft[],
    errors: [] as SignallingHubError[],
  };
  hub.on('peer-dropped', (event) => events.dropped.push(event));
  hub.on('peer-resumed', (event) => events.resumed.push(event));
  hub.on('peer-left', (event) => events.left.push(event));
  hub.on('error', (error) => events.errors.push(error));
  return events;
}

const backplaneOf = (node: HubServer) => node.hub.options.backplane as RedisBackplane;
const leaves = (client: TestClient) => client.inbox.filter((frame) => frame.type === 'leave');

/**
 * Runs `before` once, just before `node` handles its next hand-over request
 * (the moment it is about to set its holder aside); `requests()` counts the
 * hand-over requests that came since.
 */
function beforeNextHandOver(node: HubServer, before: () => void): { requests(): number } {
  const host = (backplaneOf(node) as unknown as { host: BackplaneHost }).host;
  const handOverRequested = host.handOverRequested.bind(host);
  let count = 0;
  host.handOverRequested = (name, resumeToken) => {
    if (count++ === 0) before();
    return handOverRequested(name, resumeToken);
  };
  return { requests: () => count };
}

/**
 * A peer dropped by one node resumes on another through Redis: the holder's
 * node hands the name, the held relays and the calls over in one Lua call.
 */
describe('resuming on another node through Redis', () => {
  const cluster = useRedisCluster('r');
  const { clients } = cluster;
  const proxies: FreezableProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  async function connect(url: string): Promise<TestClient> {
    const client = await TestClient.connect(url);
    clients.push(client);
    return client;
  }

  /** Logs in resumable as `name` on `url`; returns the client and its token. */
  async function resumable(url: string, name: string): Promise<{ client: TestClient; token: string }> {
    const client = await connect(url);
    const reply = await client.login(name, { resume: true });
    expect(reply).toMatchObject({ type: 'login', success: true, name });
    return { client, token: reply.token as string };
  }

  it('hands a dropped peer over: the held candidate comes right after the login reply, nobody hears leave, the call goes on', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watch(one.hub);
    const onTwo = watch(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');

    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: { n: 1 }, name: 'alice' });
    await sleep(100);

    const back = await connect(two.url);
    const reply = await back.login('alice', { token, resume: true });
    expect(reply).toMatchObject({ type: 'login', success: true, name: 'alice' });
    expect(reply.token).not.toBe(token);
    // The held candidate is the very next frame, before anything newer.
    bob.send({ type: 'candidate', candidate: { n: 2 }, name: 'alice' });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: { n: 1 }, name: 'bob' });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: { n: 2 }, name: 'bob' });
    back.send({ type: 'candidate', candidate: { n: 3 }, name: 'bob' });
    expect(await bob.nextOf('candidate')).toEqual({ type: 'candidate', candidate: { n: 3 }, name: 'alice' });

    expect(onTwo.resumed).toEqual([
      expect.objectContaining({
        peer: expect.objectContaining({ name: 'alice', node: backplaneOf(two).nodeId }),
        previous: expect.objectContaining({ name: 'alice', node: backplaneOf(one).nodeId }),
      }),
    ]);
    expect(await backplaneOf(two).listNames()).toEqual(
      new Map([
        ['alice', backplaneOf(two).nodeId],
        ['bob', backplaneOf(two).nodeId],
      ]),
    );
    await sleep(300);
    expect(leaves(bob)).toEqual([]);
    expect(onOne.left).toEqual([]);
    expect(one.hub.stats().connections).toBe(0);
    expect(onOne.errors).toEqual([]);
    expect(onTwo.errors).toEqual([]);

    // The call is tracked on node two: a clean close tells bob.
    back.close(1000);
    expect(await bob.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
  });

  it('resumes over a connection still open on node one: it is closed 4409 and nobody hears leave', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const carol = await loggedIn(one.url, 'carol', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    await startCall(carol, 'carol', alice, 'alice');

    const back = await connect(two.url);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    expect((await alice.closed).code).toBe(4409);
    // Both partners reach alice on node two, one from each node.
    carol.send({ type: 'candidate', candidate: 'from carol', name: 'alice' });
    expect(await back.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'from carol', name: 'carol' });
    bob.send({ type: 'candidate', candidate: 'from bob', name: 'alice' });
    expect(await back.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'from bob', name: 'bob' });
    await sleep(300);
    expect(leaves(bob)).toEqual([]);
    expect(leaves(carol)).toEqual([]);
    expect(onOne.left).toEqual([]);
    // carol (node one) knows where alice is now: her clean close reaches carol.
    back.close(1000);
    expect(await carol.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
    expect(await bob.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
  });

  it('refuses a wrong token with name-taken and leaves the holder as it was', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watch(one.hub);
    const { client: alice } = await resumable(one.url, 'alice');
    const bob = await loggedIn(two.url, 'bob', clients);
    const thief = await connect(two.url);
    expect(await thief.login('alice', { token: 'not-the-token', resume: true })).toMatchObject({
      success: false,
      reason: 'name-taken',
    });
    bob.send({ type: 'offer', offer: { sdp: 'still here' }, name: 'alice' });
    expect(await alice.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: 'still here' }, name: 'bob' });
    expect(await backplaneOf(one).listNames()).toEqual(
      new Map([
        ['alice', backplaneOf(one).nodeId],
        ['bob', backplaneOf(two).nodeId],
      ]),
    );
    expect(onOne.left).toEqual([]);
  });

  it('logs in afresh with a token whose name is held nowhere any more', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onTwo = watch(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    alice.close(1000);
    await until(() => one.hub.stats().connections === 0, 'the logout');
    await sleep(100);
    const back = await connect(two.url);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    expect(onTwo.resumed).toEqual([]);
  });

  it('keeps held relays in order across the hand-over: a remote sender loses none, a sender on the resuming node is told of each it loses', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const three = await cluster.node();
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(two.url, 'bob', clients);
    const dave = await loggedIn(three.url, 'dave', clients);
    await startCall(alice, 'alice', bob, 'bob');
    await startCall(alice, 'alice', dave, 'dave');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    const count = 50;
    const back = await connect(two.url);
    let login: Promise<Frame> | undefined;
    for (let n = 0; n < count; n++) {
      if (n === 15) login = back.login('alice', { token, resume: true });
      bob.send({ type: 'candidate', candidate: { from: 'bob', n }, name: 'alice' });
      dave.send({ type: 'candidate', candidate: { from: 'dave', n }, name: 'alice' });
      await sleep(10);
    }
    expect(await login).toMatchObject({ success: true });
    const received = (from: string) =>
      back.inbox
        .filter((frame) => frame.type === 'candidate' && frame.name === from)
        .map((frame) => (frame.candidate as { n: number }).n);
    const lost = (client: TestClient) => client.inbox.filter((frame) => frame.type === 'error' && frame.target === 'alice');
    await until(
      () => received('dave').length === count && received('bob').length + lost(bob).length === count,
      'every candidate delivered or reported',
      5000,
    );
    // From another node: every one, once, in order.
    expect(received('dave')).toEqual([...Array(count).keys()]);
    expect(lost(dave)).toEqual([]);
    // From the resuming node: in order, at most once; those sent while the login was being decided there were refused.
    const fromBob = received('bob');
    expect(fromBob).toEqual([...new Set(fromBob)].sort((a, b) => a - b));
    expect(fromBob.slice(0, 15)).toEqual([...Array(15).keys()]);
    expect(fromBob.at(-1)).toBe(count - 1);
    for (const error of lost(bob)) expect(error).toMatchObject({ code: 'peer-not-found', request: 'candidate' });
    expect(leaves(bob)).toEqual([]);
    expect(leaves(dave)).toEqual([]);
  });

  it('answers backplane-unavailable when Redis is stalled, and leaves one holder once it answers again', async () => {
    // Leases that outlast the stall: this is about the resume, not about nodes judged dead.
    const options = { commandTimeout: 300, leaseTtl: 10_000, heartbeatInterval: 1000 };
    const one = await cluster.node(options);
    const two = await cluster.node(options);
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    const back = await connect(two.url);
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
    const onOne = watch(one.hub);
    const onTwo = watch(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });
    await sleep(100);

    // Redis freezes the moment node one has set alice aside, before its hand-over reaches Redis.
    const handOver = beforeNextHandOver(one, () => cluster.redis.pause());
    const back = await connect(two.url);
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
    expect(onOne.errors.some((error) => error.code === 'SH_ERR_REDIS_TIMEOUT')).toBe(true);
    await sleep(200);
    expect(leaves(bob)).toEqual([]);
  });

  it('puts back what reached the name during a hand-over that did not happen, for the next resume', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // As if the claim changed under node one: its hand-over script finds another claim id and moves nothing.
    const host = (backplaneOf(one) as unknown as { host: BackplaneHost }).host;
    const handOverRequested = host.handOverRequested.bind(host);
    host.handOverRequested = (name, resumeToken) => {
      host.handOverRequested = handOverRequested;
      const offered = handOverRequested(name, resumeToken)!;
      // A relay from node two reaches alice's holder while it is set aside: the core passes it on to the backplane.
      queueMicrotask(() =>
        host.deliver({
          kind: 'candidate',
          from: 'bob',
          fromNode: backplaneOf(two).nodeId,
          to: 'alice',
          frame: JSON.stringify({ type: 'candidate', candidate: 'meanwhile', name: 'bob' }),
        }),
      );
      return { claimId: 'not-the-claim', grant: offered.grant };
    };
    const back = await connect(two.url);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: false, reason: 'name-taken' });
    expect(await backplaneOf(one).listNames()).toEqual(
      new Map([
        ['alice', backplaneOf(one).nodeId],
        ['bob', backplaneOf(two).nodeId],
      ]),
    );
    // Held again on node one, after the move failed: the next resume delivers it.
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: 'meanwhile', name: 'bob' });
    expect(onOne.left).toEqual([]);
    expect(leaves(bob)).toEqual([]);
  });

  it('settles a hand-over whose answer was lost by what Redis did, not by the timeout', async () => {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    const options = { commandTimeout: 300, leaseTtl: 10_000, heartbeatInterval: 500 };
    const one = await cluster.node({ ...options, url: proxy.url });
    const two = await cluster.node(options);
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // Node one's hand-over reaches Redis and takes effect, but nothing Redis says reaches node one for a while.
    beforeNextHandOver(one, () => proxy.freeze('replies'));
    const back = await connect(two.url);
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
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const dave = await loggedIn(three.url, 'dave', clients);
    await startCall(dave, 'dave', alice, 'alice');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // What Redis sends node two from the hand-over on is held, then comes in one read: the grant, then dave's relay.
    const handOver = beforeNextHandOver(one, () => proxy.freeze('replies'));
    const back = await connect(two.url);
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
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const dave = await loggedIn(three.url, 'dave', clients);
    await startCall(dave, 'dave', alice, 'alice');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // Node one's hand-over waits before Redis (its command connection, 0), and what is published to it is held (its subscription, 1).
    const handOver = beforeNextHandOver(one, () => {
      proxy.freeze('requests', 0);
      proxy.freeze('replies', 1);
    });
    const back = await connect(two.url);
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
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(one.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // Node two's request runs but its answer is held past commandTimeout; node one reads it after 1.25 commandTimeouts.
    proxyTwo.freeze('replies', 0);
    proxyOne.freeze('replies', 1);
    const back = await connect(two.url);
    const login = back.login('alice', { token, resume: true });
    await sleep(1250);
    proxyOne.thaw(1);
    try {
      expect(await login).toMatchObject({ success: true });
    } finally {
      proxyTwo.thaw(0);
    }
    await sleep(200);
    expect(leaves(bob)).toEqual([]);
    expect(onOne.left).toEqual([]);
  });

  it('ends the peer as on expiry when the grant comes after node two gave up: peer-gone, leave, the name free', async () => {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    const options = { commandTimeout: 300, leaseTtl: 10_000, heartbeatInterval: 1000 };
    const one = await cluster.node(options);
    const two = await cluster.node({ ...options, url: proxy.url });
    const onOne = watch(one.hub);
    const onTwo = watch(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(one.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });

    // Node two's subscription (connection 1) hears nothing until it has answered the login.
    proxy.freeze('replies', 1);
    const back = await connect(two.url);
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

  it('after a drain of node one, a partner on a third node hears no leave for the peer that resumed on node two', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const three = await cluster.node();
    const threeUp = Date.now();
    const { client: alice, token } = await resumable(one.url, 'alice');
    const carol = await loggedIn(three.url, 'carol', clients);
    await startCall(carol, 'carol', alice, 'alice');

    const drained = one.hub.drain({ timeout: 10_000 });
    expect((await alice.closed).code).toBe(4503);
    const back = await connect(two.url);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    await drained;
    expect(one.hub.closed).toBe(true);
    const closedAt = Date.now();
    // Long enough for node three's heartbeats to judge node one dead (they check leases once up for a leaseTtl).
    await sleep(Math.max(1000, threeUp + 1500 + 1000 - closedAt));
    expect(await backplaneOf(three).listNodes()).not.toContain(backplaneOf(one).nodeId);
    expect(leaves(carol)).toEqual([]);
    carol.send({ type: 'candidate', candidate: 'after the drain', name: 'alice' });
    expect(await back.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'after the drain', name: 'carol' });
    back.send({ type: 'candidate', candidate: 'back', name: 'carol' });
    expect(await carol.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'back', name: 'alice' });
    back.close(1000);
    expect(await carol.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
  });

  it('does not hand over more than maxInFlightBytes / 4: backplane-unavailable, reported, and the peer stays held', async () => {
    const one = await cluster.node({ maxInFlightBytes: 65536 });
    const two = await cluster.node();
    const onOne = watch(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice');
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    // About 24 KB held for alice: more than 65536 / 4.
    for (let n = 0; n < 3; n++) bob.send({ type: 'candidate', candidate: { n, sdp: 'x'.repeat(8000) }, name: 'alice' });
    await sleep(200);
    const back = await connect(two.url);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({
      success: false,
      reason: 'backplane-unavailable',
    });
    expect(onOne.errors).toEqual([
      expect.objectContaining({ code: 'SH_ERR_BACKPLANE', message: expect.stringMatching(/maxInFlightBytes/) }),
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

  it('reports and ignores malformed or unexpected control messages', async () => {
    const one = await cluster.node();
    const onOne = watch(one.hub);
    const { client: alice } = await resumable(one.url, 'alice');
    const redis = createClient({ url: cluster.redis.url });
    redis.on('error', () => {});
    await redis.connect();
    try {
      const channel = `${cluster.prefix}relay:${backplaneOf(one).nodeId}`;
      const grant = { previous: { id: 1, remoteAddress: null, node: 'x', joinedAt: 0 }, parked: [], partners: [] };
      for (const message of [
        '{not json',
        JSON.stringify({ t: 'resume', id: 'abc', node: 'other', name: 'alice' }),
        JSON.stringify({ t: 'resume', id: 'abc', node: 'has space', name: 'alice', token: 't', claim: '1', deadline: '0' }),
        JSON.stringify({
          t: 'resume-grant',
          id: 'abc',
          name: 'alice',
          claim: '1',
          grant: { ...grant, parked: [['bad', '', 'x', '']] },
        }),
        JSON.stringify({ t: 'resume-grant', id: 'unknown', name: 'alice', claim: '1', grant }),
        JSON.stringify({ t: 'surprise', id: 'abc' }),
      ]) {
        await redis.publish(channel, message);
      }
    } finally {
      redis.destroy();
    }
    await until(() => onOne.errors.length === 6, 'six reports');
    expect(onOne.errors.map((error) => [error.code, /malformed control message|did not ask for/.test(error.message)])).toEqual(
      Array(6).fill(['SH_ERR_BACKPLANE', true]),
    );
    // Nothing changed: alice is still held and reachable.
    expect(await backplaneOf(one).listNames()).toEqual(new Map([['alice', backplaneOf(one).nodeId]]));
    expect(one.hub.getPeer('alice')).toBeDefined();
    expect(alice.isOpen).toBe(true);
  });
});
