import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import type { RedisBackplane, RedisBackplaneOptions } from '../../src/redis.js';
import type { HubOptions } from '../../src/index.js';
import {
  connected,
  loggedIn,
  redisClusterHarness,
  resumable,
  startCall,
  untilAsync,
  useRedisCluster,
  watchHub,
} from '../helpers/cluster.js';
import type { HubServer } from '../helpers/hub-server.js';
import { until } from '../helpers/events.js';
import type { TestClient } from '../helpers/test-client.js';

/**
 * A node remembers which node held the targets it forwarded to and under which
 * epoch; GATE then lets the batch be published, outside Lua, without reading a
 * name while that node's epoch has not grown. Every way a name stops being a node's must grow it, or a
 * relay would go to a node that no longer holds its target.
 */
/** What the tests need of a cluster: its hubs, and commands on the Redis node that holds its keys. */
interface Harness {
  readonly clients: TestClient[];
  readonly prefix: string;
  node(options?: RedisBackplaneOptions, hubOptions?: Omit<HubOptions, 'backplane'>): Promise<HubServer>;
  command(args: string[]): Promise<unknown>;
}

function suite(title: string, cluster: Harness): void {
  describe(`forwarding to names seen before (${title})`, () => {
    const { clients } = cluster;

    /** How many MGETs Redis has run (FORWARD reads names with one when it must). */
    async function mgets(): Promise<number> {
      const info = String(await cluster.command(['INFO', 'commandstats']));
      return Number(/cmdstat_mget:calls=(\d+)/.exec(info)?.[1] ?? 0);
    }

    /** How many transactions Redis has run (GATE forwards in one). */
    async function execs(): Promise<number> {
      const info = String(await cluster.command(['INFO', 'commandstats']));
      return Number(/cmdstat_exec:calls=(\d+)/.exec(info)?.[1] ?? 0);
    }

    const backplaneOf = (node: HubServer) => node.hub.options.backplane as RedisBackplane;

    /** Sends `count` candidates from `from` to `name` and waits until `to` has them all, in order. */
    async function relay(from: TestClient, to: TestClient, name: string, sender: string, label: string, count: number) {
      for (let i = 0; i < count; i++) from.send({ type: 'candidate', candidate: `${label}${i}`, name });
      for (let i = 0; i < count; i++)
        expect(await to.next()).toEqual({ type: 'candidate', candidate: `${label}${i}`, name: sender });
    }

    it('reads the names once, then forwards to the same node without reading them', async () => {
      const [one, two] = [await cluster.node(), await cluster.node()];
      const a = await loggedIn(one.url, 'a', clients);
      const b = await loggedIn(two.url, 'b', clients);
      const c = await loggedIn(two.url, 'c', clients);
      await relay(a, b, 'b', 'a', 'first', 1);
      await relay(a, c, 'c', 'a', 'first', 1);
      const before = await mgets();
      const transactions = await execs();
      for (let round = 0; round < 20; round++) {
        await relay(a, b, 'b', 'a', `b${round}-`, 10);
        await relay(a, c, 'c', 'a', `c${round}-`, 10);
      }
      expect(await mgets()).toBe(before);
      // Each relay() waits for its batch: forty batches at least, each through GATE (outside Lua).
      expect((await execs()) - transactions).toBeGreaterThanOrEqual(40);
    });

    it('routes a burst whose batches GATE refuses (the epoch grew under them) in order, each once', async () => {
      const [one, two] = [await cluster.node(), await cluster.node()];
      const a = await loggedIn(one.url, 'a', clients);
      const b = await loggedIn(two.url, 'b', clients);
      await relay(a, b, 'b', 'a', 'warm', 3);
      const before = await mgets();
      await cluster.command(['INCR', `{${cluster.prefix}}epoch:${backplaneOf(two).nodeId}`]);
      // More than one batch holds (256 envelopes): several calls wait for Redis at once, all refused.
      const count = 700;
      for (let i = 0; i < count; i++) a.send({ type: 'candidate', candidate: `burst${i}`, name: 'b' });
      for (let i = 0; i < count; i++) expect(await b.next()).toEqual({ type: 'candidate', candidate: `burst${i}`, name: 'a' });
      // Routed by reading the names (GATE's refusal), then approved again under the epoch it learned.
      expect(await mgets()).toBeGreaterThan(before);
      await relay(a, b, 'b', 'a', 'after', 3);
      expect(a.inbox.filter((frame) => frame.type === 'error')).toEqual([]);
    });

    it('tells the sender when Redis lost its scripts, and forwards again once they are back', async () => {
      const [one, two] = [await cluster.node(), await cluster.node()];
      const a = await loggedIn(one.url, 'a', clients);
      const b = await loggedIn(two.url, 'b', clients);
      await relay(a, b, 'b', 'a', 'warm', 3);
      await cluster.command(['SCRIPT', 'FLUSH']);
      a.send({ type: 'candidate', candidate: 'lost', name: 'b' });
      expect(await a.nextOf('error')).toMatchObject({ code: 'backplane-unavailable', target: 'b' });
      // The node loaded them again on hearing NOSCRIPT.
      await relay(a, b, 'b', 'a', 'back', 3);
    });

    it('finds a name on its new node after it left one node and logged in on another', async () => {
      const [one, two, three] = [await cluster.node(), await cluster.node(), await cluster.node()];
      const a = await loggedIn(one.url, 'a', clients);
      const b = await loggedIn(two.url, 'b', clients);
      const stays = await loggedIn(two.url, 'stays', clients);
      await relay(a, b, 'b', 'a', 'before', 5);
      await relay(a, stays, 'stays', 'a', 'before', 5);
      b.close();
      await untilAsync(async () => !(await backplaneOf(one).listNames()).has('b'), 'b released in Redis');
      // Gone everywhere: told at once, not lost on the node that held it.
      a.send({ type: 'candidate', candidate: 'nobody', name: 'b' });
      expect(await a.next()).toMatchObject({ type: 'error', code: 'peer-not-found', target: 'b' });
      // Still on node two: a node's other names are found as before.
      await relay(a, stays, 'stays', 'a', 'still', 5);
      const back = await loggedIn(three.url, 'b', clients);
      await relay(a, back, 'b', 'a', 'after', 5);
      await relay(a, stays, 'stays', 'a', 'after', 5);
    });

    it('follows a name handed over to the node it resumed on, in order', async () => {
      const [one, two, three] = [await cluster.node({}, { resumeGrace: 5000 }), await cluster.node(), await cluster.node()];
      const onOne = watchHub(one.hub);
      const { client: dropped, token } = await resumable(one.url, 'alice', clients);
      const carol = await loggedIn(three.url, 'carol', clients);
      await startCall(carol, 'carol', dropped, 'alice');
      await relay(carol, dropped, 'alice', 'carol', 'before', 5);
      dropped.socket.terminate();
      await until(() => onOne.dropped.length === 1, 'the drop on node one');
      // Held on node one while alice is away, then handed over with her name.
      for (let i = 0; i < 5; i++) carol.send({ type: 'candidate', candidate: `held${i}`, name: 'alice' });
      const back = await connected(two.url, clients);
      expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true, name: 'alice' });
      for (let i = 0; i < 5; i++) expect(await back.next()).toEqual({ type: 'candidate', candidate: `held${i}`, name: 'carol' });
      await relay(carol, back, 'alice', 'carol', 'after', 5);
    });

    it('does not reach a node that lost a name to a takeover, even once its lease is back', async () => {
      const one = await cluster.node();
      // A slow heartbeat: node two does not notice its lease gone before the test puts it back.
      const two = await cluster.node({ leaseTtl: 30_000, heartbeatInterval: 10_000 });
      const a = await loggedIn(one.url, 'a', clients);
      const b = await loggedIn(two.url, 'b', clients);
      await relay(a, b, 'b', 'a', 'before', 3);
      // Node two's lease lapses (as in a stall); node three takes the name over; node two's lease comes back.
      const lease = `{${cluster.prefix}}node:${backplaneOf(two).nodeId}`;
      const value = await cluster.command(['GET', lease]);
      expect(typeof value).toBe('string');
      await cluster.command(['DEL', lease]);
      const three = await cluster.node();
      const taker = await loggedIn(three.url, 'b', clients);
      await cluster.command(['SET', lease, value as string, 'PX', '60000']);
      await relay(a, taker, 'b', 'a', 'after', 3);
    });
  });
}

/** A harness over either kind of cluster, given how to run a command on the Redis node holding its keys. */
function harness(cluster: Pick<Harness, 'clients' | 'prefix' | 'node'>, command: (args: string[]) => Promise<unknown>): Harness {
  return {
    clients: cluster.clients,
    get prefix() {
      return cluster.prefix;
    },
    node: (options, hubOptions) => cluster.node(options, hubOptions),
    command,
  };
}

const redis = useRedisCluster('fc');
suite(
  'through Redis',
  harness(redis, async (args) => {
    const admin = createClient({ url: redis.redis.url });
    admin.on('error', () => {});
    await admin.connect();
    try {
      return await admin.sendCommand(args);
    } finally {
      admin.destroy();
    }
  }),
);

const redisCluster = redisClusterHarness('fcc');
suite(
  'through a Redis Cluster',
  // The master of the slot every key of this prefix is in.
  harness(redisCluster, async (args) => {
    const nodes = redisCluster.redis;
    return nodes.command(await nodes.ownerOf(await nodes.slotOf(`{${redisCluster.prefix}}`)), args);
  }),
);
