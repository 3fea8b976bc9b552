import { describe, expect, it } from 'vitest';
import { RedisBackplane } from '../../src/redis.js';
import { loggedIn, loginWithin, startCall, useRedisCluster } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

/** Two (or more) hubs sharing one Redis: the tutorial protocol must not notice. */
describe('hubs through one Redis', () => {
  const cluster = useRedisCluster('t');
  const { nodes, clients } = cluster;
  const node = () => cluster.node();

  async function client(at: HubServer, name?: string): Promise<TestClient> {
    if (name !== undefined) return loggedIn(at.url, name, clients);
    const c = await TestClient.connect(at.url);
    clients.push(c);
    return c;
  }

  it('carries a whole tutorial conversation across nodes, with the sender name', async () => {
    const [one, two] = [await node(), await node()];
    const a = await client(one, 'UserA');
    const b = await client(two, 'UserB');

    a.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 a' }, name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 a' }, name: 'UserA' });
    b.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 b' }, name: 'UserA' });
    expect(await a.next()).toEqual({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 b' }, name: 'UserB' });
    a.send({ type: 'candidate', candidate: { candidate: 'candidate:1', sdpMid: '0' }, name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: 'candidate:1', sdpMid: '0' }, name: 'UserA' });
    b.send({ type: 'candidate', candidate: { candidate: 'candidate:2', sdpMid: '0' }, name: 'UserA' });
    expect(await a.next()).toEqual({ type: 'candidate', candidate: { candidate: 'candidate:2', sdpMid: '0' }, name: 'UserB' });
    a.send({ type: 'leave', name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'leave', name: 'UserA' });
    expect(a.inbox).toEqual([]);
    expect(b.inbox).toEqual([]);
  });

  it('keeps the order of one sender across nodes', async () => {
    const [one, two] = [await node(), await node()];
    const a = await client(one, 'Sender');
    const b = await client(two, 'Receiver');
    const count = 300;
    for (let i = 0; i < count; i++) a.send({ type: 'candidate', candidate: { candidate: `candidate:${i}` }, name: 'Receiver' });
    for (let i = 0; i < count; i++) {
      expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: `candidate:${i}` }, name: 'Sender' });
    }
  });

  it('shares one name space: a name held on one node is refused on the other', async () => {
    const [one, two] = [await node(), await node()];
    await client(one, 'Alice');
    const other = await client(two);
    expect(await other.login('Alice')).toMatchObject({ type: 'login', success: false, reason: 'name-taken' });
  });

  it('gives exactly one success to racing logins of one name on several nodes', async () => {
    const hubs = [await node(), await node(), await node()];
    for (let round = 0; round < 10; round++) {
      const contenders = await Promise.all([...hubs, ...hubs].map((at) => client(at)));
      const replies = await Promise.all(contenders.map((c) => c.login(`Contested${round}`)));
      expect(replies.filter((reply) => reply.success === true)).toHaveLength(1);
      for (const reply of replies.filter((r) => r.success !== true)) expect(reply.reason).toBe('name-taken');
    }
  });

  it('answers peer-not-found for a name on no node, as a single node does', async () => {
    const [one] = [await node(), await node()];
    const a = await client(one, 'Lonely');
    a.send({ type: 'offer', offer: { sdp: 'x' }, name: 'Nobody' });
    expect(await a.nextOf('error')).toMatchObject({ code: 'peer-not-found', request: 'offer', target: 'Nobody' });
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

  it('tells a call partner on another node leave when a peer closes', async () => {
    const [one, two] = [await node(), await node()];
    const a = await client(one, 'Caller');
    const b = await client(two, 'Callee');
    await startCall(a, 'Caller', b, 'Callee');
    a.close();
    expect(await b.nextOf('leave')).toEqual({ type: 'leave', name: 'Caller' });
    b.send({ type: 'candidate', candidate: { candidate: 'late' }, name: 'Caller' });
    expect(await b.nextOf('error')).toMatchObject({ code: 'peer-not-found', target: 'Caller' });
  });

  it('delivers a host message through hub.send() to a peer on another node', async () => {
    const [one, two] = [await node(), await node()];
    await client(two, 'Listener');
    const b = clients.at(-1)!;
    expect(await one.hub.send('Listener', { type: 'notice', text: 'hello' })).toBe(true);
    expect(await b.nextOf('notice')).toEqual({ type: 'notice', text: 'hello' });
    expect(await one.hub.send('Ghost', { type: 'notice' })).toBe(false);
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
      expect(await shared.get(`${cluster.prefix}name:Owned`)).toBe(other.hub.options.backplane!.nodeId);
    } finally {
      shared.destroy();
    }
  });
});
