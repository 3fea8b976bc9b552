import { type AddressInfo, type Socket, connect, createServer } from 'node:net';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { RedisBackplane, NodeLinkError } from '../../src/redis.js';
import { InvalidOptionError, SignallingHub } from '../../src/index.js';
import { loggedIn, redisClusterHarness, untilAsync, useRedisCluster, watchHub } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { until } from '../helpers/events.js';
import type { TestClient } from '../helpers/test-client.js';

/**
 * Node links (`links`): batches to peers a node saw on another node go to it over TCP, and Redis
 * carries names, leases, rooms and what a link refused. The rows of the transport matrix and of
 * every cluster suite also run over links; these tests check what only links do.
 */
const cluster = useRedisCluster('nl', { links: '127.0.0.1:0' });
const { clients } = cluster;

const backplaneOf = (node: HubServer) => node.hub.options.backplane as RedisBackplane;

/** What Redis has counted of `command` (its `INFO commandstats` calls). */
async function calls(command: string): Promise<number> {
  const admin = createClient({ url: cluster.redis.url });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const info = await admin.sendCommand<string>(['INFO', 'commandstats']);
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  } finally {
    admin.destroy();
  }
}

/** The numbers of the candidates `client` received from `from`, in order. */
const numbers = (client: TestClient, from: string) =>
  client.inbox
    .filter((frame) => frame.type === 'candidate' && frame.name === from)
    .map((frame) => (frame.candidate as { n: number }).n);

/** The errors `sender` was told about relays to `target`. */
const told = (sender: TestClient, target: string, code?: string) =>
  sender.inbox.filter(
    (frame) => frame.type === 'error' && frame.target === target && (code === undefined || frame.code === code),
  );

/**
 * Two nodes from `start`, `a` logged in on the first and `b` on the second, relaying to each other
 * until both nodes' links are open (the first relays go through Redis).
 */
async function linkedPair(start: () => Promise<HubServer>, owned: TestClient[]) {
  const one = await start();
  const two = await start();
  const a = await loggedIn(one.url, 'a', owned);
  const b = await loggedIn(two.url, 'b', owned);
  await linked(one, two, a, b);
  return { one, two, a, b };
}

/** Relays from `from` to `to` until both nodes' links are open (the first relays go through Redis). */
async function linked(one: HubServer, two: HubServer, a: TestClient, b: TestClient): Promise<void> {
  let n = 0;
  await untilAsync(async () => {
    a.send({ type: 'candidate', candidate: { warm: n }, name: 'b' });
    b.send({ type: 'candidate', candidate: { warm: n }, name: 'a' });
    n++;
    await b.next((frame) => frame.type === 'candidate' && (frame.candidate as { warm?: number }).warm === n - 1);
    await a.next((frame) => frame.type === 'candidate' && (frame.candidate as { warm?: number }).warm === n - 1);
    return backplaneOf(one).status().nodeLinks === 1 && backplaneOf(two).status().nodeLinks === 1;
  }, 'links open both ways');
}

describe('node links', () => {
  it('relays between nodes that saw each other’s peers without Redis: no PUBLISH, no transaction, in order', async () => {
    const { a, b } = await linkedPair(() => cluster.node(), clients);
    const [publishes, execs] = [await calls('publish'), await calls('exec')];
    const count = 400;
    for (let n = 0; n < count; n++) {
      a.send({ type: 'candidate', candidate: { n }, name: 'b' });
      b.send({ type: 'candidate', candidate: { n }, name: 'a' });
    }
    await until(() => numbers(b, 'a').length === count && numbers(a, 'b').length === count, 'every candidate both ways');
    expect(numbers(b, 'a')).toEqual([...Array(count).keys()]);
    expect(numbers(a, 'b')).toEqual([...Array(count).keys()]);
    expect(await calls('publish')).toBe(publishes);
    expect(await calls('exec')).toBe(execs);
  });

  it('sends what a link refused (its target left the node) on through Redis, in order; the sender hears of what reached nobody', async () => {
    const { two, a, b } = await linkedPair(() => cluster.node(), clients);
    const three = await cluster.node();
    const count = 150;
    let moved: TestClient | undefined;
    for (let n = 0; n < count; n++) {
      if (n === 40) {
        // b read the first 40 and is gone from node two before more is sent (a relay to a peer still
        // closing would be lost as on one node). Node one still takes b for node two's: the link refuses.
        await until(() => numbers(b, 'a').length === 40, 'the first 40 on node two');
        b.close();
        await until(() => two.hub.getPeer('b') === undefined, 'b gone from node two');
      }
      if (n === 80) moved = await loggedIn(three.url, 'b', clients);
      a.send({ type: 'candidate', candidate: { n }, name: 'b' });
    }
    const onTwo = numbers(b, 'a');
    expect(onTwo).toEqual([...Array(40).keys()]);
    const onThree = () => numbers(moved!, 'a');
    // A deadline for a loaded machine: refusals, the link to node three and Redis in between.
    await until(
      () => onTwo.length + onThree().length + told(a, 'b').length >= count,
      'every candidate delivered or reported',
      20_000,
    );
    const received = [...onTwo, ...onThree()];
    // Each once, in the order sent: a prefix on node two, the rest that reached anyone on node three.
    expect(received).toEqual([...received].sort((x, y) => x - y));
    expect(new Set(received).size).toBe(received.length);
    expect(received.length + told(a, 'b').length).toBe(count);
    expect(told(a, 'b').every((frame) => frame.code === 'peer-not-found')).toBe(true);
    expect(onThree().at(-1)).toBe(count - 1);
  });

  it('keeps one sender’s relays (over the link) and room broadcasts (through Redis) in the order sent', async () => {
    const { one, a, b } = await linkedPair(() => cluster.node(), clients);
    b.send({ type: 'join', room: 'R' });
    expect(await b.nextOf('join')).toMatchObject({ success: true, members: [] });
    a.send({ type: 'join', room: 'R' });
    expect(await a.nextOf('join')).toMatchObject({ success: true, members: ['b'] });
    expect(await b.next()).toEqual({ type: 'joined', room: 'R', name: 'a' });
    const count = 200;
    for (let i = 0; i < count; i++) {
      a.send({ type: 'broadcast', room: 'R', data: i });
      a.send({ type: 'candidate', candidate: { n: i }, name: 'b' });
    }
    for (let i = 0; i < count; i++) {
      expect(await b.next()).toEqual({ type: 'broadcast', room: 'R', name: 'a', data: i });
      expect(await b.next()).toEqual({ type: 'candidate', candidate: { n: i }, name: 'a' });
    }
    // The relays went over the link, the broadcasts through Redis.
    expect(backplaneOf(one).status().nodeLinks).toBe(1);
  });

  it('answers what a link that stopped answering carried backplane-unavailable, and goes on through Redis', async () => {
    const { one, two, a, b } = await linkedPair(() => cluster.node({ commandTimeout: 300 }), clients);
    const onOne = watchHub(one.hub);
    // Node two stops reading its links (as a node whose event loop is stuck would, for links only).
    const sockets = (backplaneOf(two) as unknown as { links: { server: { sockets: Set<Socket> } } }).links.server.sockets;
    for (const socket of sockets) socket.pause();
    for (let n = 0; n < 5; n++) a.send({ type: 'candidate', candidate: { n }, name: 'b' });
    await until(() => told(a, 'b', 'backplane-unavailable').length === 5, 'the stuck candidates answered');
    expect(onOne.errors.some((error) => error instanceof NodeLinkError && error.failure === 'timeout')).toBe(true);
    a.send({ type: 'candidate', candidate: { n: 5 }, name: 'b' });
    await until(() => numbers(b, 'a').length > 0, 'the candidate sent after them');
    expect(numbers(b, 'a')).toEqual([5]);
  });

  it('goes on while Redis stalls until the nodes’ leases could have lapsed; then the sender is told', async () => {
    const { a, b } = await linkedPair(() => cluster.node(), clients);
    cluster.redis.pause();
    try {
      a.send({ type: 'candidate', candidate: { n: 0 }, name: 'b' });
      await b.next((frame) => frame.type === 'candidate' && (frame.candidate as { n?: number }).n === 0);
      let n = 1;
      // One candidate at a time, each delivered or reported before the next, until one is refused: past
      // leaseTtl (1.5 s) at the latest.
      const deadline = Date.now() + 10_000;
      while (told(a, 'b').length === 0 && Date.now() < deadline) {
        a.send({ type: 'candidate', candidate: { n: n++ }, name: 'b' });
        await until(() => numbers(b, 'a').length + told(a, 'b').length >= n - 1, `candidate ${n - 1} delivered or reported`);
      }
      // Candidates 1 to n - 1 (b read 0 above): delivered, in order, until they no longer could be.
      await until(() => numbers(b, 'a').length + told(a, 'b').length >= n - 1, 'every candidate delivered or reported', 10_000);
      const received = numbers(b, 'a');
      expect(received).toEqual([...Array(received.length).keys()].map((i) => i + 1));
      expect(received.length + told(a, 'b').length).toBe(n - 1);
      expect(received.length).toBeGreaterThan(1);
      expect(told(a, 'b').every((frame) => frame.code === 'backplane-unavailable')).toBe(true);
    } finally {
      cluster.redis.resume();
    }
  });

  it('closes a link that does not show the node’s secret, and delivers nothing from it', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onTwo = watchHub(two.hub);
    const a = await loggedIn(one.url, 'a', clients);
    const b = await loggedIn(two.url, 'b', clients);
    const admin = createClient({ url: cluster.redis.url });
    admin.on('error', () => {});
    await admin.connect();
    const lease = String(await admin.get(`{${cluster.prefix}}node:${backplaneOf(two).nodeId}`));
    admin.destroy();
    const [, host, port, secret] = lease.split(' ');
    expect(secret).toMatch(/^[0-9a-f-]{36}$/);
    const frame = (type: number, payload: Buffer) => {
      const head = Buffer.alloc(5);
      head.writeUInt32BE(1 + payload.length, 0);
      head[4] = type;
      return Buffer.concat([head, payload]);
    };
    const batch = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0]), Buffer.from('26;c\ta\tb\t{"type":"candidate"}')]);
    const attempts = [
      frame(1, Buffer.from(JSON.stringify({ from: 'x', to: backplaneOf(two).nodeId, secret: 'wrong' }))),
      frame(3, batch),
      frame(1, Buffer.from(JSON.stringify({ from: 'x', to: 'another-node', secret }))),
      // A stranger announcing a 1 MiB frame: closed before it is buffered.
      Buffer.from([0, 0x10, 0, 0, 1]),
    ];
    for (const attempt of attempts) {
      const socket = connect({ host: host!, port: Number(port) });
      socket.on('error', () => {});
      socket.write(attempt);
      socket.write(frame(3, batch));
      await new Promise((resolve) => socket.on('close', resolve));
    }
    expect(onTwo.errors.filter((error) => error instanceof NodeLinkError && error.failure === 'protocol')).toHaveLength(4);
    // Through the same node: what b hears next is a's sentinel, nothing the bad links sent.
    a.send({ type: 'candidate', candidate: 'sentinel', name: 'b' });
    expect(await b.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'sentinel', name: 'a' });
  });

  it('refuses to start on a links port already taken, saying where, and leaves nothing behind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const hub = new SignallingHub({
        backplane: new RedisBackplane({ url: cluster.redis.url, keyPrefix: cluster.prefix, links: `127.0.0.1:${port}` }),
      });
      hub.on('error', () => {});
      await expect(hub.ready).rejects.toThrow(`Could not listen for node links on 127.0.0.1:${port}`);
      await hub.close();
      await hub.close();
      expect(await cluster.redis.command(`KEYS {${cluster.prefix}}*`)).toBe('*0');
    } finally {
      blocker.close();
    }
  });

  it('checks its options', () => {
    expect(() => new RedisBackplane({ links: 'nowhere' })).toThrow(InvalidOptionError);
    expect(() => new RedisBackplane({ links: '127.0.0.1:70000' })).toThrow(InvalidOptionError);
    expect(() => new RedisBackplane({ links: '0.0.0.0:7000' })).toThrow(/linksAdvertise/);
    expect(new RedisBackplane({ links: '0.0.0.0:7000', linksAdvertise: '10.0.0.5' }).options.links).toBe('0.0.0.0:7000');
    expect(new RedisBackplane({ links: '[::1]:0' }).options.links).toBe('[::1]:0');
  });
});

describe('node links on a Redis Cluster', () => {
  const shards = redisClusterHarness('nlc');

  /** What the master of the hub cluster's slot has counted of `command`. */
  async function masterCalls(command: string): Promise<number> {
    const port = await shards.redis.ownerOf(await shards.redis.slotOf(`{${shards.prefix}}`));
    const info = (await shards.redis.command(port, ['INFO', 'commandstats'])) as string;
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  }

  it('finds the other node’s link through its lease in the slot, and relays without SPUBLISH', async () => {
    const node = async () => {
      const backplane = new RedisBackplane({
        clusterUrls: shards.redis.urls,
        keyPrefix: shards.prefix,
        leaseTtl: 1500,
        heartbeatInterval: 250,
        links: '127.0.0.1:0',
      });
      const started = await startHubServer({ backplane });
      shards.nodes.push(started);
      await started.hub.ready;
      return started;
    };
    const { a, b } = await linkedPair(node, shards.clients);
    const [publishes, execs] = [await masterCalls('spublish'), await masterCalls('exec')];
    const count = 200;
    for (let n = 0; n < count; n++) a.send({ type: 'candidate', candidate: { n }, name: 'b' });
    await until(() => numbers(b, 'a').length === count, 'every candidate');
    expect(numbers(b, 'a')).toEqual([...Array(count).keys()]);
    expect(await masterCalls('spublish')).toBe(publishes);
    expect(await masterCalls('exec')).toBe(execs);
  });
});
