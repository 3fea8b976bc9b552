import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackplane } from '../../src/redis.js';
import { sleep } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { RedisServer } from '../helpers/redis-server.js';
import { TestClient } from '../helpers/test-client.js';

/**
 * Commands Redis executed, by name, from INFO commandstats (the ones a Lua
 * script calls are counted too; INFO and CONFIG themselves are left out).
 */
async function commandCounts(admin: ReturnType<typeof createClient>): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info' && !match[1]!.startsWith('config')) counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

/** An idle node's Redis traffic: one heartbeat call per interval, however many peers it holds. */
describe('steady-state Redis traffic', () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof createClient>;
  const clients: TestClient[] = [];
  let node: HubServer | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = createClient({ url: redis.url });
    await admin.connect();
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await node?.close();
    admin?.destroy();
    await redis?.dispose();
  });

  async function idleTraffic(): Promise<Record<string, number>> {
    await admin.configResetStat();
    await sleep(1000);
    return commandCounts(admin);
  }

  it('does not grow with the number of peers a node holds', async () => {
    node = await startHubServer({ backplane: new RedisBackplane({ url: redis.url, leaseTtl: 1000, heartbeatInterval: 100 }) });
    await node.hub.ready;
    const first = await TestClient.connect(node.url);
    clients.push(first);
    await first.login('peer-0');
    // Past the first lease TTL, heartbeats also check other nodes: measure that steady state.
    await sleep(1100);
    const withOne = await idleTraffic();

    for (let i = 1; i < 100; i++) {
      const c = await TestClient.connect(node.url);
      clients.push(c);
      expect(await c.login(`peer-${i}`)).toMatchObject({ success: true });
    }
    const withHundred = await idleTraffic();

    // Only heartbeats: about ten EVALSHA per second at a 100 ms interval, and
    // the same work inside each one whether the node holds one peer or a hundred.
    const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, n) => sum + n, 0);
    for (const counts of [withOne, withHundred]) {
      expect(counts.evalsha).toBeGreaterThanOrEqual(7);
      expect(counts.evalsha).toBeLessThanOrEqual(11);
      expect(counts.publish ?? 0).toBe(0);
    }
    expect(total(withHundred) / withHundred.evalsha!).toBeCloseTo(total(withOne) / withOne.evalsha!, 0);
  });
});
