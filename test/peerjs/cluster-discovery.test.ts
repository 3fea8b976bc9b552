import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backplane, MemoryCluster } from '../../src/index.js';
import type { PeerjsOptions } from '../../src/peerjs.js';
import { RedisBackplane } from '../../src/redis.js';
import { RedisServer } from '../helpers/redis-server.js';
import { PeerjsWsClient, type PeerjsServer, startPeerjsServer } from './peerjs-server.js';

let redis: RedisServer;
let round = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis?.dispose();
});

/** The two ways to carry a cluster: a fresh key prefix on the real Redis, or a fresh in-memory cluster. */
const media: ReadonlyArray<{ name: string; backplanes(): () => Backplane }> = [
  {
    name: 'through Redis',
    backplanes() {
      const keyPrefix = `pjd${round}:`;
      return () => new RedisBackplane({ url: redis.url, keyPrefix, leaseTtl: 1500, heartbeatInterval: 250 });
    },
  },
  {
    name: 'in memory',
    backplanes() {
      const cluster = new MemoryCluster();
      return () => cluster.backplane();
    },
  },
];

/** `GET {path}{key}/peers` and `/id` answer for the whole cluster, not the node asked. */
describe.each(media)('PeerJS discovery across two nodes ($name)', (medium) => {
  const nodes: PeerjsServer[] = [];
  const clients: PeerjsWsClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
    round++;
  });

  async function twoNodes(options: PeerjsOptions = {}): Promise<[PeerjsServer, PeerjsServer]> {
    const backplane = medium.backplanes();
    const started: [PeerjsServer, PeerjsServer] = [
      await startPeerjsServer({ backplane: backplane() }, options),
      await startPeerjsServer({ backplane: backplane() }, options),
    ];
    nodes.push(...started);
    return started;
  }

  async function open(node: PeerjsServer, id: string): Promise<PeerjsWsClient> {
    const client = await PeerjsWsClient.open(node.port, id);
    clients.push(client);
    return client;
  }

  it('lists the ids online on every node, from either node', async () => {
    const [one, two] = await twoNodes({ allow_discovery: true });
    await open(one, 'carol');
    await open(two, 'alice');
    await open(two, 'bob');
    for (const node of [one, two]) {
      const response = await fetch(`${node.origin}/peerjs/peers`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(['alice', 'bob', 'carol']);
    }
    // Another key's listing is its own (and a wrong key is refused as before).
    expect((await fetch(`${one.origin}/other/peers`)).status).toBe(401);
  });

  it('never hands out an id held on the other node as fresh', async () => {
    // The generator proposes the held ids first, then a free one.
    let starting: string[] = [];
    const generateClientId = () => starting.shift() ?? 'unused';
    const [one, two] = await twoNodes({ generateClientId });
    await open(two, 'held-there');
    await open(one, 'held-here');
    starting = ['held-there', 'held-here', 'free'];
    const fresh = await fetch(`${one.origin}/peerjs/id`);
    expect([fresh.status, await fresh.text()]).toEqual([200, 'free']);
    // Only held ids proposed: no id rather than a taken one.
    starting = Array.from({ length: 8 }, () => 'held-there');
    const none = await fetch(`${one.origin}/peerjs/id`);
    expect([none.status, await none.text()]).toEqual([503, 'No available id has been found']);
  });
});

describe('PeerJS discovery when the cluster cannot be read', () => {
  const nodes: PeerjsServer[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.close()));
  });

  it('answers 503 rather than a listing of this node alone, and lists again once it can', async () => {
    const cluster = new MemoryCluster();
    nodes.push(await startPeerjsServer({ backplane: cluster.backplane('one') }, { allow_discovery: true }));
    nodes.push(await startPeerjsServer({ backplane: cluster.backplane('two') }, { allow_discovery: true }));
    const [one, two] = nodes as [PeerjsServer, PeerjsServer];
    const errors: unknown[] = [];
    one.hub.on('error', (error) => errors.push(error));
    const a = await PeerjsWsClient.open(one.port, 'a');
    const b = await PeerjsWsClient.open(two.port, 'b');
    try {
      cluster.crash('one');
      const refused = await fetch(`${one.origin}/peerjs/peers`);
      expect([refused.status, await refused.text()]).toEqual([503, 'The cluster cannot be reached: try again']);
      expect(errors).toContainEqual(expect.objectContaining({ code: 'SH_ERR_BACKPLANE' }));
      cluster.restore('one');
      expect(await (await fetch(`${one.origin}/peerjs/peers`)).json()).toEqual(['a', 'b']);
    } finally {
      a.socket.terminate();
      b.socket.terminate();
    }
  });
});
