import { describe, expect, it } from 'vitest';
import { RedisBackplane } from '../../src/redis.js';
import { loggedIn, loginWithin, useRedisCluster } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

/**
 * What only a cluster has, so it is not a row of the matrix: more than two
 * nodes, a node joining late, presence in Redis, a Redis client lent by the
 * host. The conversation itself across two nodes runs in the matrix
 * (the `two nodes through Redis` factory).
 */
describe('hubs through one Redis, beyond two nodes', () => {
  const cluster = useRedisCluster('c');
  const { clients } = cluster;
  const node = () => cluster.node();

  async function client(at: HubServer, name?: string): Promise<TestClient> {
    if (name !== undefined) return loggedIn(at.url, name, clients);
    const c = await TestClient.connect(at.url);
    clients.push(c);
    return c;
  }

  it('gives exactly one success to racing logins of one name on three nodes', async () => {
    const hubs = [await node(), await node(), await node()];
    for (let round = 0; round < 10; round++) {
      const contenders = await Promise.all([...hubs, ...hubs].map((at) => client(at)));
      const replies = await Promise.all(contenders.map((c) => c.login(`Contested${round}`)));
      expect(replies.filter((reply) => reply.success === true)).toHaveLength(1);
      for (const reply of replies.filter((r) => r.success !== true)) expect(reply.reason).toBe('name-taken');
    }
  });

  it('frees a name on logout so another node can take it, and reports presence cluster-wide', async () => {
    const [one, two] = [await node(), await node()];
    const a = await client(one, 'Roamer');
    await client(two, 'Stayer');
    const backplane = one.hub.options.backplane as RedisBackplane;
    expect(await backplane.listNodes()).toHaveLength(2);
    expect(Object.fromEntries(await backplane.listNames())).toEqual({
      Roamer: backplane.nodeId,
      Stayer: two.hub.options.backplane!.nodeId,
    });
    a.close();
    await a.closed;
    // The release is sent when the hub sees the close: allow it a moment.
    const reply = await loginWithin(await client(two), 'Roamer', 2000);
    expect(reply).toMatchObject({ success: true, name: 'Roamer' });
  });

  it('lets a node started after the others join the conversation', async () => {
    const [one, two] = [await node(), await node()];
    const a = await client(one, 'Early1');
    const b = await client(two, 'Early2');
    const late = await node();
    const c = await client(late, 'Late');
    const refused = await client(late);
    expect(await refused.login('Early1')).toMatchObject({ success: false, reason: 'name-taken' });
    c.send({ type: 'offer', offer: { sdp: 'late' }, name: 'Early1' });
    expect(await a.next()).toEqual({ type: 'offer', offer: { sdp: 'late' }, name: 'Late' });
    b.send({ type: 'offer', offer: { sdp: 'early' }, name: 'Late' });
    expect(await c.next()).toEqual({ type: 'offer', offer: { sdp: 'early' }, name: 'Early2' });
  });

  it('releases its names and lease on close, and leaves a client it was given open', async () => {
    const { createClient } = await import('redis');
    const shared = createClient({ url: cluster.redis.url });
    await shared.connect();
    try {
      const started = await startHubServer({
        backplane: new RedisBackplane({ client: shared, keyPrefix: cluster.prefix, leaseTtl: 1500, heartbeatInterval: 250 }),
      });
      await started.hub.ready;
      const other = await node();
      const a = await client(started, 'Borrowed');
      const b = await client(other, 'Owned');
      a.send({ type: 'offer', offer: { sdp: 'x' }, name: 'Owned' });
      expect(await b.nextOf('offer')).toMatchObject({ name: 'Borrowed' });
      await started.close();
      expect(shared.isReady).toBe(true);
      const gone = started.hub.options.backplane!.nodeId;
      expect(
        await shared.exists([
          `${cluster.prefix}name:Borrowed`,
          `${cluster.prefix}node:${gone}`,
          `${cluster.prefix}names:${gone}`,
        ]),
      ).toBe(0);
      expect(await shared.sIsMember(`${cluster.prefix}nodes`, gone)).toBe(0);
      // The other node's name is untouched (read through the public presence API: the key's value format is the backplane's own).
      const otherBackplane = other.hub.options.backplane as RedisBackplane;
      expect(Object.fromEntries(await otherBackplane.listNames())).toEqual({ Owned: otherBackplane.nodeId });
    } finally {
      shared.destroy();
    }
  });
});
