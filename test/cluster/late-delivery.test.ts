import { afterEach, describe, expect, it } from 'vitest';
import { type FreezableProxy, loggedIn, resumable, startFreezableProxy, useRedisCluster, watchHub } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';

/**
 * A node learns that an offer reached a peer on another node when Redis answers its forward; the call is
 * recorded then. A sender that closes or drops before that answer (its node's replies from Redis slow,
 * the target's node quick) must still leave no dead call behind.
 */
describe('an offer delivered across nodes after its sender left', () => {
  const cluster = useRedisCluster('late');
  const proxies: FreezableProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  /** Node one reaches Redis through a proxy that can hold Redis's answers to its commands. */
  async function nodes(hubOptions = {}) {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    return { proxy, one: await cluster.node({ url: proxy.url }, hubOptions), two: await cluster.node() };
  }

  it('tells the target leave when the sender closed', async () => {
    const { proxy, one, two } = await nodes();
    const caller = await loggedIn(one.url, 'caller', cluster.clients);
    const callee = await loggedIn(two.url, 'callee', cluster.clients);
    // Redis runs node one's commands; their answers wait (its command connection is the first it opens).
    proxy.freeze('replies', 0);
    caller.send({ type: 'offer', offer: { sdp: 'late' }, name: 'callee' });
    expect(await callee.next()).toEqual({ type: 'offer', offer: { sdp: 'late' }, name: 'caller' });
    caller.close();
    await until(() => one.hub.size === 0, 'node one to let the caller go');
    proxy.thaw(0);
    expect(await callee.next()).toEqual({ type: 'leave', name: 'caller' });
  });

  it('keeps the call of a sender that dropped: its target hears leave when the grace ends', async () => {
    const { proxy, one, two } = await nodes({ resumeGrace: 300 });
    const onOne = watchHub(one.hub);
    const { client: caller } = await resumable(one.url, 'caller', cluster.clients);
    const callee = await loggedIn(two.url, 'callee', cluster.clients);
    proxy.freeze('replies', 0);
    caller.send({ type: 'offer', offer: { sdp: 'late' }, name: 'callee' });
    expect(await callee.next()).toEqual({ type: 'offer', offer: { sdp: 'late' }, name: 'caller' });
    caller.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    proxy.thaw(0);
    expect(await callee.next()).toEqual({ type: 'leave', name: 'caller' });
  });
});
