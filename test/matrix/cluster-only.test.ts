import { describe, expect, it } from 'vitest';
import type { ClaimResult, ResumeResult } from '../../src/index.js';
import { RedisBackplane, type RedisBackplaneOptions } from '../../src/redis.js';
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
          `{${cluster.prefix}}name:Borrowed`,
          `{${cluster.prefix}}node:${gone}`,
          `{${cluster.prefix}}names:${gone}`,
        ]),
      ).toBe(0);
      expect(await shared.sIsMember(`{${cluster.prefix}}nodes`, gone)).toBe(0);
      // The other node's name is untouched (read through the public presence API: the key's value format is the backplane's own).
      const otherBackplane = other.hub.options.backplane as RedisBackplane;
      expect(Object.fromEntries(await otherBackplane.listNames())).toEqual({ Owned: otherBackplane.nodeId });
    } finally {
      shared.destroy();
    }
  });

  /**
   * A Redis backplane whose claims and resumes of one name wait at a gate the
   * test opens: a login of that name stays pending for as long as the test
   * needs, and `entered` says when it got there (no sleeps).
   */
  class GatedBackplane extends RedisBackplane {
    readonly entered: Promise<void>;
    private enter!: () => void;
    private readonly gate: Promise<void>;
    open!: () => void;
    constructor(
      private readonly gated: string,
      options: RedisBackplaneOptions,
    ) {
      super(options);
      this.entered = new Promise((resolve) => (this.enter = resolve));
      this.gate = new Promise((resolve) => (this.open = resolve));
    }
    override async claim(name: string, claimId: string): Promise<ClaimResult> {
      if (name === this.gated) {
        this.enter();
        await this.gate;
      }
      return super.claim(name, claimId);
    }
    override async resume(name: string, token: string, claimId: string): Promise<ResumeResult> {
      if (name === this.gated) {
        this.enter();
        await this.gate;
      }
      return super.resume(name, token, claimId);
    }
  }

  async function gatedNode(name: string): Promise<{ at: HubServer; backplane: GatedBackplane }> {
    const backplane = new GatedBackplane(name, {
      url: cluster.redis.url,
      keyPrefix: cluster.prefix,
      leaseTtl: 1500,
      heartbeatInterval: 250,
    });
    const at = await startHubServer({ backplane });
    cluster.nodes.push(at);
    await at.hub.ready;
    return { at, backplane };
  }

  it('routes relays past a login of a name held on another node: a pending claim is invisible', async () => {
    const one = await node();
    const { at: two, backplane } = await gatedNode('Held');
    const holder = await client(one, 'Held');
    const sender = await client(two, 'Sender');
    const impostor = await client(two);
    const refused = impostor.login('Held');
    await backplane.entered;
    // While the login for Held is pending on node two, Held (on node one) is reached from there.
    sender.send({ type: 'offer', offer: { sdp: 'pending' }, name: 'Held' });
    expect(await holder.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: 'pending' }, name: 'Sender' });
    sender.send({ type: 'candidate', candidate: { candidate: 'c1' }, name: 'Held' });
    expect(await holder.nextOf('candidate')).toMatchObject({ candidate: { candidate: 'c1' }, name: 'Sender' });
    expect(await two.hub.send('Held', { type: 'note', text: 'from the host' })).toBe(true);
    expect(await holder.nextOf('note')).toEqual({ type: 'note', text: 'from the host' });
    backplane.open();
    expect(await refused).toMatchObject({ success: false, reason: 'name-taken' });
    // Barrier: a relay after the refusal; nothing the sender sent was answered with an error.
    sender.send({ type: 'candidate', candidate: { candidate: 'c2' }, name: 'Held' });
    expect(await holder.nextOf('candidate')).toMatchObject({ candidate: { candidate: 'c2' } });
    holder.send({ type: 'answer', answer: { sdp: 'back' }, name: 'Sender' });
    expect(await sender.nextOf('answer')).toMatchObject({ name: 'Held' });
    expect(sender.inbox.filter((frame) => frame.type === 'error')).toEqual([]);
  });

  it('hands relays held for a refused resume on to the real holder, in order, without peer-gone', async () => {
    const one = await node();
    const { at: two, backplane } = await gatedNode('Held');
    const holder = await client(one, 'Held');
    const sender = await client(two, 'Sender');
    const impostor = await client(two);
    const refused = impostor.login('Held', { resume: true, token: 'not-the-token' });
    await backplane.entered;
    // A resume is held until decided (a real one must get them after its grant, in order).
    for (let i = 1; i <= 5; i++) sender.send({ type: 'candidate', candidate: { candidate: `c${i}` }, name: 'Held' });
    backplane.open();
    expect(await refused).toMatchObject({ success: false, reason: 'name-taken' });
    sender.send({ type: 'candidate', candidate: { candidate: 'c6' }, name: 'Held' });
    for (let i = 1; i <= 6; i++) {
      expect(await holder.nextOf('candidate')).toMatchObject({ candidate: { candidate: `c${i}` }, name: 'Sender' });
    }
    // Barrier: the holder's answer comes back after anything the hub told the sender about its relays.
    holder.send({ type: 'answer', answer: { sdp: 'back' }, name: 'Sender' });
    expect(await sender.nextOf('answer')).toMatchObject({ name: 'Held' });
    expect(sender.inbox.filter((frame) => frame.type === 'error')).toEqual([]);
    // Each relay counts once, where it went: six across the cluster, none held here.
    expect(two.hub.stats().relays.candidate).toEqual({ local: 0, crossNode: 6 });
  });
});
