import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackplaneError, InvalidOptionError, type PeerLeft } from '../../src/index.js';
import { taggedPrefix } from '../../src/cluster/redis/keys.js';
import { RedisBackplane } from '../../src/redis.js';
import { CliProcess, buildCli } from '../helpers/cli-process.js';
import { loggedIn, loginWithin, redisClusterHarness, untilAsync, untilRelayed } from '../helpers/cluster.js';
import type { HubServer } from '../helpers/hub-server.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { freePort } from '../helpers/redis-server.js';
import { TestClient } from '../helpers/test-client.js';

function refused(options: unknown): InvalidOptionError {
  try {
    new RedisBackplane(options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('RedisBackplane options for a Redis Cluster', () => {
  it('takes seed URLs or a cluster client, never with a single Redis as well, and refuses bad seeds', () => {
    expect(new RedisBackplane({ clusterUrls: ['redis://10.0.0.1:7000'] }).options.clusterUrls).toEqual(['redis://10.0.0.1:7000']);
    expect(refused({ clusterUrls: ['redis://a:1'], url: 'redis://b:2' }).message).toMatch(
      /Invalid option clusterUrls: expected not given together with url/,
    );
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    expect(refused({ cluster, clusterUrls: ['redis://a:1'] }).option).toBe('cluster');
    expect(refused({ cluster, client: {} }).option).toBe('client');
    expect(refused({ clusterUrls: [] }).message).toMatch(/non-empty array of redis:\/\/ or rediss:\/\/ URLs/);
    expect(refused({ clusterUrls: ['http://a:1'] }).option).toBe('clusterUrls[0]');
    expect(refused({ clusterUrls: 'redis://a:1' }).option).toBe('clusterUrls');
    expect(refused({ cluster: {} }).message).toMatch(/a node-redis cluster client/);
    expect(refused({ clusterUrls: ['redis://a:1'], keyPrefix: '' }).option).toBe('keyPrefix');
  });

  it('wraps keyPrefix in a hash tag, unless it holds one already', () => {
    expect(taggedPrefix('signalling-hub:')).toBe('{signalling-hub:}');
    expect(taggedPrefix('app{tenant-7}:')).toBe('app{tenant-7}:');
    // An empty tag is no tag for Redis: wrapped like any prefix.
    expect(taggedPrefix('{}x:')).toBe('{{}x:}');
    expect(taggedPrefix('')).toBeUndefined();
  });

  it('fails the start within startTimeout when no seed answers, naming them without their password', async () => {
    const port = await freePort();
    const backplane = new RedisBackplane({ clusterUrls: [`redis://:secret@127.0.0.1:${port}`], startTimeout: 500 });
    const started = Date.now();
    const { SignallingHub } = await import('../../src/index.js');
    const hub = new SignallingHub({ backplane });
    hub.on('error', () => {});
    const failure = await hub.ready.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BackplaneError);
    expect((failure as Error).message).toMatch(new RegExp(`Redis Cluster at redis://127\\.0\\.0\\.1:${port}`));
    expect((failure as Error).message).not.toMatch(/secret/);
    expect(Date.now() - started).toBeLessThan(5000);
    await hub.close();
  });
});

describe('hubs on a Redis Cluster', () => {
  const cluster = redisClusterHarness('nodes');
  const { clients } = cluster;
  const prefix = () => cluster.prefix;
  const node = (options: ConstructorParameters<typeof RedisBackplane>[0] = {}): Promise<HubServer> => cluster.node(options);

  it('keeps every key in the slot of its hash tag, and channels there as sharded ones', async () => {
    const [one, two] = [await node(), await node()];
    await loggedIn(one.url, 'Tagged', clients);
    await loggedIn(two.url, 'Other', clients);
    const tag = `{${prefix()}}`;
    const keys = await cluster.redis.keys(`${tag}nodes`, '*');
    expect(keys.filter((key) => key.startsWith(tag)).sort()).toEqual(
      [
        `${tag}name:Other`,
        `${tag}name:Tagged`,
        `${tag}names:${one.hub.options.backplane!.nodeId}`,
        `${tag}names:${two.hub.options.backplane!.nodeId}`,
        `${tag}node:${one.hub.options.backplane!.nodeId}`,
        `${tag}node:${two.hub.options.backplane!.nodeId}`,
        `${tag}nodes`,
      ].sort(),
    );
    const owner = await cluster.redis.ownerOf(await cluster.redis.slotOf(`${tag}nodes`));
    const channels = (await cluster.redis.command(owner, ['PUBSUB', 'SHARDCHANNELS', `${tag}*`])) as string[];
    expect(channels.sort()).toEqual(
      [one, two]
        .flatMap((server) => [`${tag}relay:`, `${tag}gated:`].map((channel) => channel + server.hub.options.backplane!.nodeId))
        .sort(),
    );
    // Nothing on classic pub/sub, which a cluster copies to every node.
    expect(await cluster.redis.command(owner, ['PUBSUB', 'CHANNELS', `${tag}*`])).toEqual([]);
  });

  it("runs on the host's own cluster client, which it leaves open, unsubscribing its channel", async () => {
    const shared = createCluster({ rootNodes: cluster.redis.urls.map((url) => ({ url })), useReplicas: true });
    shared.on('error', () => {});
    try {
      const one = await node({ clusterUrls: undefined, cluster: shared });
      const two = await node();
      const a = await loggedIn(one.url, 'Borrowed', clients);
      const b = await loggedIn(two.url, 'Own', clients);
      b.send({ type: 'offer', offer: { sdp: 'to borrowed' }, name: 'Borrowed' });
      expect(await a.nextOf('offer')).toMatchObject({ name: 'Own' });
      a.send({ type: 'answer', answer: { sdp: 'to own' }, name: 'Own' });
      expect(await b.nextOf('answer')).toMatchObject({ name: 'Borrowed' });
      const channel = `{${prefix()}}relay:${one.hub.options.backplane!.nodeId}`;
      const owner = await cluster.redis.ownerOf(await cluster.redis.slotOf(channel));
      await one.close();
      expect(shared.isOpen).toBe(true);
      await untilAsync(
        async () => ((await cluster.redis.command(owner, ['PUBSUB', 'SHARDNUMSUB', channel])) as [string, number])[1] === 0,
        'the channel to be unsubscribed',
      );
      expect(await shared.sendCommand(`{${prefix()}}nodes`, true, ['SCARD', `{${prefix()}}nodes`])).toBe(1);
    } finally {
      shared.destroy();
    }
  });

  it('subscribes again, once, after its subscription connection is killed', async () => {
    const [one, two] = [await node(), await node()];
    const a = await loggedIn(one.url, 'Sender', clients);
    const b = await loggedIn(two.url, 'Receiver', clients);
    const owner = await cluster.redis.ownerOf(await cluster.redis.slotOf(`{${prefix()}}nodes`));
    // Every subscription connection on the slot's master drops (as on a network blip).
    await cluster.redis.command(owner, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await untilRelayed(a, b, 'Receiver', 10_000);
    // Numbered relays after it arrive once each, in order: the listener was not added twice.
    for (let i = 0; i < 20; i++) a.send({ type: 'candidate', candidate: { candidate: String(i) }, name: 'Receiver' });
    a.send({ type: 'offer', offer: { sdp: 'sentinel' }, name: 'Receiver' });
    await b.next((frame) => frame.type === 'offer' && (frame.offer as { sdp: string }).sdp === 'sentinel');
    const received = b.inbox
      .filter((frame) => frame.type === 'candidate')
      .map((frame) => (frame.candidate as { candidate: string }).candidate);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('closes a holder with 4410 once its node, whose lease lapsed, beats again after the name was taken elsewhere', async () => {
    const [one, two] = [await node(), await node()];
    const left: PeerLeft[] = [];
    one.hub.on('peer-left', (event) => left.push(event));
    const held = await loggedIn(one.url, 'Lapsed', clients);
    const partner = await loggedIn(two.url, 'Partner', clients);
    partner.send({ type: 'offer', offer: { sdp: 'call' }, name: 'Lapsed' });
    expect(await held.nextOf('offer')).toMatchObject({ name: 'Partner' });
    // Node one stops refreshing its lease (a frozen process): past leaseTtl it is dead to the others.
    const lease = (one.hub.options.backplane as unknown as { lease: { stop(): void; start(): void } }).lease;
    lease.stop();
    // Its call partner on node two hears leave, and the name is free there.
    expect(await partner.nextOf('leave', 10_000)).toEqual({ type: 'leave', name: 'Lapsed' });
    const second = await TestClient.connect(two.url);
    clients.push(second);
    expect(await loginWithin(second, 'Lapsed', 5000)).toMatchObject({ success: true, name: 'Lapsed' });
    // Node one runs again: its next beat finds its lease gone, re-asserts, loses the name, closes its holder.
    lease.start();
    expect(await held.closed).toMatchObject({ code: 4410 });
    expect(left).toEqual([expect.objectContaining({ name: 'Lapsed', reason: 'claim-lost', code: 4410 })]);
    const names = await (two.hub.options.backplane as RedisBackplane).listNames();
    expect(names.get('Lapsed')).toBe(two.hub.options.backplane!.nodeId);
  }, 30_000);
});

/** `signalling-hub --redis-cluster`: CLI processes joined through the Redis Cluster, one SIGKILLed. */
describe('CLI nodes through a Redis Cluster', () => {
  let redis: RedisCluster | undefined;
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  const processes: CliProcess[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    const [cluster, build] = await Promise.allSettled([RedisCluster.start(), buildCli()]);
    if (cluster.status === 'fulfilled') redis = cluster.value;
    if (build.status === 'fulfilled') built = build.value;
    if (cluster.status === 'rejected') throw cluster.reason;
    if (build.status === 'rejected') throw build.reason;
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(processes.map((p) => p.kill()));
    await redis?.dispose();
    built?.remove();
  });

  it('runs a conversation across processes; a SIGKILLed node frees its names and its partner hears leave within 10 s', async () => {
    const start = async () => {
      const cli = await CliProcess.start(built!.script, [
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--redis-cluster',
        redis!.urls.join(','),
      ]);
      processes.push(cli);
      return cli;
    };
    const [n1, n2] = await Promise.all([start(), start()]);
    const a = await loggedIn(n1.url, 'Alice', clients);
    const b = await loggedIn(n2.url, 'Bob', clients);
    a.send({ type: 'offer', offer: { sdp: 'v=0 alice' }, name: 'Bob' });
    expect(await b.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: 'v=0 alice' }, name: 'Alice' });
    b.send({ type: 'answer', answer: { sdp: 'v=0 bob' }, name: 'Alice' });
    expect(await a.nextOf('answer')).toEqual({ type: 'answer', answer: { sdp: 'v=0 bob' }, name: 'Bob' });

    const killedAt = Date.now();
    await n1.kill('SIGKILL');
    expect(await b.nextOf('leave', 10_000)).toEqual({ type: 'leave', name: 'Alice' });
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    const again = await loggedIn(n2.url, 'Alice', clients);
    expect(again.isOpen).toBe(true);
  }, 60_000);
});
