import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackplane } from '../../src/redis.js';
import { loggedIn, loginWithin, sleep, startCall } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { RedisServer } from '../helpers/redis-server.js';
import { TestClient } from '../helpers/test-client.js';

/** Redis is killed under two live nodes, then comes back empty on the same port. */
describe('a Redis outage', () => {
  let redis: RedisServer;
  const nodes: HubServer[] = [];
  const clients: TestClient[] = [];
  const errors: Error[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
    // A test that failed while Redis was down must not take the next ones with it.
    if (!redis.running) await redis.start();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  async function node(): Promise<HubServer> {
    const started = await startHubServer({
      backplane: new RedisBackplane({
        url: redis.url,
        leaseTtl: 1500,
        heartbeatInterval: 250,
        reconnectMaxDelay: 200,
        commandTimeout: 500,
      }),
    });
    started.hub.on('error', (error) => errors.push(error));
    nodes.push(started);
    await started.hub.ready;
    return started;
  }

  const client = (at: HubServer, name: string) => loggedIn(at.url, name, clients);

  /** Sends an offer every 100 ms until `to` receives one, and returns how long it took. */
  async function untilRelayed(from: TestClient, to: TestClient, target: string, withinMs: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      from.send({ type: 'offer', offer: { sdp: 'retry' }, name: target });
      try {
        await to.nextOf('offer', 100);
        return Date.now() - started;
      } catch {
        if (Date.now() - started > withinMs) throw new Error(`no cross-node relay within ${withinMs} ms`);
      }
    }
  }

  it('keeps local relay, refuses cross-node sends and logins at once, and recovers when Redis returns empty', async () => {
    const [one, two] = [await node(), await node()];
    const a = await client(one, 'A');
    const a2 = await client(one, 'A2');
    const b = await client(two, 'B');
    await startCall(a, 'A', b, 'B');

    errors.length = 0;
    await redis.kill();
    // Give the clients a moment to notice the closed sockets.
    await sleep(100);

    // Local relay does not touch Redis.
    a.send({ type: 'candidate', candidate: { candidate: 'local' }, name: 'A2' });
    expect(await a2.next()).toEqual({ type: 'candidate', candidate: { candidate: 'local' }, name: 'A' });

    // Cross-node: a clear error, at once.
    const sentAt = Date.now();
    a.send({ type: 'candidate', candidate: { candidate: 'lost' }, name: 'B' });
    expect(await a.nextOf('error', 2000)).toMatchObject({ code: 'backplane-unavailable', request: 'candidate', target: 'B' });
    expect(Date.now() - sentAt).toBeLessThan(500);

    // A new name cannot be claimed cluster-wide.
    const c = await TestClient.connect(one.url);
    clients.push(c);
    expect(await c.login('C')).toMatchObject({ success: false, reason: 'backplane-unavailable' });

    // The outage was reported through the hub's error event, once per connection rather than once per retry.
    await sleep(1000);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThanOrEqual(4);

    // Redis comes back with nothing in it.
    await redis.start();
    const back = Date.now();
    await untilRelayed(a, b, 'B', 5000);
    await untilRelayed(b, a, 'A', 5000 - (Date.now() - back));
    expect(Date.now() - back).toBeLessThan(5000);

    // The nodes re-asserted their peers' names: they are taken again cluster-wide.
    const d = await TestClient.connect(two.url);
    clients.push(d);
    expect(await d.login('A2')).toMatchObject({ success: false, reason: 'name-taken' });

    // The call that spanned the outage is still known: closing A tells B leave.
    a.close();
    expect(await b.nextOf('leave')).toEqual({ type: 'leave', name: 'A' });
  });

  it('does not mistake the restart for dead nodes: no spurious leave after Redis returns', async () => {
    const [one, two] = [await node(), await node()];
    const a = await client(one, 'P');
    const b = await client(two, 'Q');
    await startCall(a, 'P', b, 'Q');
    await redis.kill();
    await sleep(300);
    await redis.start();
    // Several lease TTLs: both nodes have re-asserted and checked each other many times.
    await sleep(3500);
    expect(a.inbox.filter((frame) => frame.type === 'leave')).toEqual([]);
    expect(b.inbox.filter((frame) => frame.type === 'leave')).toEqual([]);
    a.send({ type: 'candidate', candidate: { candidate: 'after' }, name: 'Q' });
    expect(await b.nextOf('candidate')).toMatchObject({ name: 'P' });
  });
  it('gives back, when Redis returns with its data, a name whose peer left during the outage', async () => {
    const [one, two] = [await node(), await node()];
    await client(one, 'Stays');
    const leaving = await client(one, 'Leaves');
    await redis.save();
    await redis.kill({ keepData: true });
    leaving.close();
    await leaving.closed;
    await redis.start();
    // The snapshot still says node one holds "Leaves", under a live lease.
    const other = await TestClient.connect(two.url);
    clients.push(other);
    const reply = await loginWithin(other, 'Leaves', 5000);
    expect(reply).toMatchObject({ success: true, name: 'Leaves' });
    const again = await TestClient.connect(two.url);
    clients.push(again);
    expect(await again.login('Stays')).toMatchObject({ success: false, reason: 'name-taken' });
  });

  it('answers backplane-unavailable when Redis stops answering, after commandTimeout', async () => {
    const [one, two] = [await node(), await node()];
    const a = await client(one, 'Patient');
    await client(two, 'Far');
    expect(await redis.command('CLIENT PAUSE 1000 ALL')).toBe('+OK');
    const sentAt = Date.now();
    a.send({ type: 'offer', offer: { sdp: 'o' }, name: 'Far' });
    expect(await a.nextOf('error', 3000)).toMatchObject({ code: 'backplane-unavailable', target: 'Far' });
    // commandTimeout is 500 ms here; the pause (shorter than the lease) would hold it for 1000.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(400);
    expect(Date.now() - sentAt).toBeLessThan(1400);
    await sleep(700);
  });
});
