import { type Server, type Socket, createServer, connect } from 'node:net';
import { createClient } from 'redis';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import {
  type Backplane,
  type BackplaneHost,
  type HubOptions,
  MemoryCluster,
  type MemoryBackplane,
  type PeerDropped,
  type PeerLeft,
  type PeerResumed,
  type SignallingHub,
  type SignallingHubError,
} from '../../src/index.js';
import { RedisBackplane, type RedisBackplaneOptions } from '../../src/redis.js';
import { type HubServer, startHubServer } from './hub-server.js';
import { RedisCluster } from './redis-cluster.js';
import { RedisServer } from './redis-server.js';
import { TestClient } from './test-client.js';
import { pollUntil, sleep } from './time.js';

/** Re-exported for the cluster suites (one definition, in `time.ts`). */
export { sleep };

/** Resolves once `check()` resolves true, asking every 20 ms; rejects after `timeoutMs`. */
export function untilAsync(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  return pollUntil(check, what, timeoutMs, 20);
}

/** Connects to `url`, logs in as `name` (expecting success) and keeps the client in `owned` for cleanup. */
export async function loggedIn(url: string, name: string, owned: TestClient[]): Promise<TestClient> {
  const client = await TestClient.connect(url);
  owned.push(client);
  expect(await client.login(name)).toMatchObject({ type: 'login', success: true, name });
  return client;
}

/** Connects to `url` and keeps the client in `owned` for cleanup. */
export async function connected(url: string, owned: TestClient[]): Promise<TestClient> {
  const client = await TestClient.connect(url);
  owned.push(client);
  return client;
}

/** Logs in resumable as `name` on `url`; returns the client and its token. */
export async function resumable(url: string, name: string, owned: TestClient[]): Promise<{ client: TestClient; token: string }> {
  const client = await connected(url, owned);
  const reply = await client.login(name, { resume: true });
  expect(reply).toMatchObject({ type: 'login', success: true, name });
  return { client, token: reply.token as string };
}

/** The `leave` frames `client` has not read yet. */
export const leaves = (client: TestClient) => client.inbox.filter((frame) => frame.type === 'leave');

/** What a hub emitted about its peers and failures. */
export function watchHub(hub: SignallingHub) {
  const events = {
    dropped: [] as PeerDropped[],
    resumed: [] as PeerResumed[],
    left: [] as PeerLeft[],
    errors: [] as SignallingHubError[],
  };
  hub.on('peer-dropped', (event) => events.dropped.push(event));
  hub.on('peer-resumed', (event) => events.resumed.push(event));
  hub.on('peer-left', (event) => events.left.push(event));
  hub.on('error', (error) => events.errors.push(error));
  return events;
}

/** The host a node's backplane serves (to act in between the backplane and the hub). */
export function hostOf(node: HubServer): BackplaneHost {
  return (node.hub.options.backplane as unknown as { host: BackplaneHost }).host;
}

/**
 * Runs `before` once, just before `node` handles its next hand-over request
 * (the moment it is about to set its holder aside); `requests()` counts the
 * hand-over requests that came since.
 */
export function beforeNextHandOver(node: HubServer, before: () => void): { requests(): number } {
  const host = hostOf(node);
  const handOverRequested = host.handOverRequested.bind(host);
  let count = 0;
  host.handOverRequested = (name, resumeToken) => {
    if (count++ === 0) before();
    return handOverRequested(name, resumeToken);
  };
  return { requests: () => count };
}

/** Opens a call (offer, then answer), so that each side hears `leave` when the other goes. */
export async function startCall(caller: TestClient, callerName: string, callee: TestClient, calleeName: string): Promise<void> {
  caller.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 call' }, name: calleeName });
  expect(await callee.nextOf('offer')).toMatchObject({ name: callerName });
  callee.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 call' }, name: callerName });
  expect(await caller.nextOf('answer')).toMatchObject({ name: calleeName });
}

/**
 * Logs in as `name`, again every 100 ms while the name is still taken, for up
 * to `withinMs` (a release on another node is asynchronous); returns the last reply.
 */
export async function loginWithin(client: TestClient, name: string, withinMs: number) {
  let reply = await client.login(name);
  // Past the deadline the last reply is the answer: the caller checks it.
  await pollUntil(
    async () => reply.success === true || (reply = await client.login(name)).success === true,
    `${name} to log in`,
    withinMs,
    100,
  ).catch(() => undefined);
  return reply;
}

/**
 * The set-up every in-process cluster suite shares: one real `redis-server`
 * for the file, hubs joined through it with short leases, and a fresh key
 * prefix per test so tests cannot see each other's names. Clients and hubs
 * pushed to `clients`/`nodes` are closed after each test.
 */
export function useRedisCluster(tag: string, defaults: RedisBackplaneOptions = {}) {
  let redis: RedisServer | undefined;
  let round = 0;
  const nodes: HubServer[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.dispose();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
    round++;
  });
  return {
    nodes,
    clients,
    get redis(): RedisServer {
      return redis!;
    },
    /** This test's key prefix. */
    get prefix(): string {
      return `${tag}${round}:`;
    },
    /** A hub joined to the cluster, ready (`hubOptions`: the hub's own options, e.g. `resumeGrace`). */
    async node(options: RedisBackplaneOptions = {}, hubOptions: Omit<HubOptions, 'backplane'> = {}): Promise<HubServer> {
      const started = await startHubServer({
        ...hubOptions,
        backplane: new RedisBackplane({
          url: redis!.url,
          keyPrefix: this.prefix,
          leaseTtl: 1500,
          heartbeatInterval: 250,
          ...defaults,
          ...options,
        }),
      });
      nodes.push(started);
      await started.hub.ready;
      return started;
    },
  };
}

/** What a cluster test needs of a cluster, whatever carries it. */
export interface ClusterHarness {
  /** Hubs started by `node()`, closed after each test. */
  readonly nodes: HubServer[];
  /** Clients pushed here are closed after each test. */
  readonly clients: TestClient[];
  /**
   * A hub joined to the cluster, ready. `channelOnly`: the node reads every envelope from its channel
   * (no node links, where the harness has them), for tests that reach into what it reads there.
   */
  node(
    options?: { readonly commandTimeout?: number; readonly channelOnly?: boolean },
    hubOptions?: Omit<HubOptions, 'backplane'>,
  ): Promise<HubServer>;
  /** The node id of a hub started by `node()`. */
  nodeId(node: HubServer): string;
  /** Every name held on a live node, with its node id, as `node` reads it. */
  listNames(node: HubServer): Promise<Map<string, string>>;
  /** Ids of the live nodes, as `node` reads them. */
  listNodes(node: HubServer): Promise<string[]>;
  /** Publishes raw `text` on a node's channel, as a misbehaving node would. */
  publish(nodeId: string, text: string): Promise<void>;
  /** A backplane of this cluster started for `host` without a hub (to test the backplane as a unit); closed after each test. */
  bare(host: BackplaneHost, options?: { readonly commandTimeout?: number }): Promise<Backplane>;
}

/** The cluster through one real `redis-server` (see {@link useRedisCluster}). */
export function redisHarness(tag: string, defaults: RedisBackplaneOptions = {}): ClusterHarness {
  const cluster = useRedisCluster(tag, defaults);
  const bare = useBare();
  const backplaneOf = (node: HubServer) => node.hub.options.backplane as RedisBackplane;
  return {
    nodes: cluster.nodes,
    clients: cluster.clients,
    node: ({ channelOnly, ...options } = {}, hubOptions = {}) =>
      cluster.node(channelOnly === true ? { ...options, links: undefined } : options, hubOptions),
    nodeId: (node) => backplaneOf(node).nodeId,
    listNames: (node) => backplaneOf(node).listNames(),
    listNodes: (node) => backplaneOf(node).listNodes(),
    async publish(nodeId, text) {
      const admin = createClient({ url: cluster.redis.url });
      admin.on('error', () => {});
      await admin.connect();
      try {
        await admin.publish(`{${cluster.prefix}}relay:${nodeId}`, text);
      } finally {
        admin.destroy();
      }
    },
    bare: (host, options = {}) =>
      bare(
        new RedisBackplane({
          url: cluster.redis.url,
          keyPrefix: cluster.prefix,
          leaseTtl: 1500,
          heartbeatInterval: 250,
          ...defaults,
          ...options,
        }),
        host,
      ),
  };
}

/**
 * The cluster through a real Redis Cluster (three masters, three replicas)
 * started for the file: the same hubs as {@link useRedisCluster}, given the
 * seed URLs; a fresh key prefix per test.
 */
export function redisClusterHarness(tag: string): ClusterHarness & { readonly redis: RedisCluster; readonly prefix: string } {
  let redis: RedisCluster | undefined;
  let round = 0;
  const nodes: HubServer[] = [];
  const clients: TestClient[] = [];
  const bare = useBare();
  beforeAll(async () => {
    redis = await RedisCluster.start();
  }, 60_000);
  afterAll(async () => {
    await redis?.dispose();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
    round++;
  });
  const backplane = (options: RedisBackplaneOptions) =>
    new RedisBackplane({
      clusterUrls: redis!.urls,
      keyPrefix: `${tag}${round}:`,
      leaseTtl: 1500,
      heartbeatInterval: 250,
      ...options,
    });
  const backplaneOf = (node: HubServer) => node.hub.options.backplane as RedisBackplane;
  return {
    nodes,
    clients,
    get redis(): RedisCluster {
      return redis!;
    },
    get prefix(): string {
      return `${tag}${round}:`;
    },
    async node(given = {}, hubOptions = {}) {
      // A Redis Cluster's nodes have no links: every envelope comes on the channel.
      const started = await startHubServer({ ...hubOptions, backplane: backplane(withoutChannelOnly(given)) });
      nodes.push(started);
      await started.hub.ready;
      return started;
    },
    nodeId: (node) => backplaneOf(node).nodeId,
    listNames: (node) => backplaneOf(node).listNames(),
    listNodes: (node) => backplaneOf(node).listNodes(),
    async publish(nodeId, text) {
      const channel = `{${tag}${round}:}relay:${nodeId}`;
      const port = await redis!.ownerOf(await redis!.slotOf(channel));
      await redis!.command(port, ['SPUBLISH', channel, text]);
    },
    bare: (host, options = {}) => bare(backplane(options), host),
  };
}

/** A node's options without the harness's own `channelOnly`. */
function withoutChannelOnly<T extends { readonly channelOnly?: boolean }>(given: T): Omit<T, 'channelOnly'> {
  return Object.fromEntries(Object.entries(given).filter(([key]) => key !== 'channelOnly')) as Omit<T, 'channelOnly'>;
}

/** Starts backplanes without a hub and closes them after each test. */
function useBare(): (backplane: Backplane, host: BackplaneHost) => Promise<Backplane> {
  const started: Backplane[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((backplane) => backplane.close()));
  });
  return async (backplane, host) => {
    started.push(backplane);
    await backplane.start(host);
    return backplane;
  };
}

/** The same cluster in memory ({@link MemoryCluster}): a fresh one per test. */
export function memoryHarness(): ClusterHarness {
  let cluster = new MemoryCluster();
  const bare = useBare();
  const nodes: HubServer[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
    cluster = new MemoryCluster();
  });
  const backplaneOf = (node: HubServer) => node.hub.options.backplane as MemoryBackplane;
  return {
    nodes,
    clients,
    async node(given = {}, hubOptions = {}) {
      // In memory there are no links: every envelope comes on the channel.
      const options = withoutChannelOnly(given);
      const started = await startHubServer({ ...hubOptions, backplane: cluster.backplane(undefined, options) });
      nodes.push(started);
      await started.hub.ready;
      return started;
    },
    nodeId: (node) => backplaneOf(node).nodeId,
    listNames: (node) => backplaneOf(node).listNames(),
    listNodes: (node) => backplaneOf(node).listNodes(),
    publish(nodeId, text) {
      cluster.publish(nodeId, text);
      return Promise.resolve();
    },
    bare: (host, options = {}) => bare(cluster.backplane(undefined, options), host),
  };
}

/**
 * Declares `body` once per way of carrying a cluster (Redis, Redis with node links, a Redis Cluster, memory), as
 * socket.io-adapter's `testSuite(createAdapter)` does: the protocol between
 * nodes is one code, so its behaviour is one suite.
 */
export function clusterSuite(title: string, tag: string, body: (cluster: ClusterHarness) => void): void {
  describe(`${title} (through Redis)`, () => body(redisHarness(tag)));
  describe(`${title} (through Redis, relays over node links)`, () => body(redisHarness(`${tag}l`, { links: '127.0.0.1:0' })));
  describe(`${title} (through a Redis Cluster)`, () => body(redisClusterHarness(tag)));
  describe(`${title} (in memory)`, () => body(memoryHarness()));
}

/**
 * A loopback TCP proxy to Redis that can be frozen: while frozen, bytes in
 * both directions are held (the connections stay open), as for a node that
 * stalls or is cut off without its sockets closing. `thaw()` lets them through
 * in order.
 */
export interface FreezableProxy {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /**
   * Holds bytes both ways, only those from Redis (`'replies'`: commands still
   * run, their answers and published messages do not come back) or only those
   * to it (`'requests'`); on every connection (also those opened later), or
   * only on the `connection`-th one accepted (0-based: a backplane opens its
   * command connection first, then its subscription).
   */
  freeze(direction?: ProxyDirection, connection?: number): void;
  /** Lets what was held through, in order, and stops holding (on every connection, or on one). */
  thaw(connection?: number): void;
  close(): Promise<void>;
}

export type ProxyDirection = 'both' | 'replies' | 'requests';

export async function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  interface Link {
    frozen: ProxyDirection | undefined;
    held: Array<() => void>;
  }
  let everywhere: ProxyDirection | undefined;
  const links: Link[] = [];
  const sockets = new Set<Socket>();
  const holds = (direction: ProxyDirection | undefined, reply: boolean) =>
    direction === 'both' || (direction === 'replies' && reply) || (direction === 'requests' && !reply);
  const relay = (link: Link, from: Socket, to: Socket, reply: boolean) =>
    from.on('data', (chunk) => {
      if (holds(link.frozen ?? everywhere, reply)) link.held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  const release = (link: Link) => {
    link.frozen = undefined;
    for (const write of link.held.splice(0)) write();
  };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const link: Link = { frozen: undefined, held: [] };
    links.push(link);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    relay(link, client, upstream, false);
    relay(link, upstream, client, true);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze(direction = 'both', connection) {
      if (connection === undefined) everywhere = direction;
      else links[connection]!.frozen = direction;
    },
    thaw(connection) {
      if (connection === undefined) {
        everywhere = undefined;
        for (const link of links) release(link);
      } else {
        release(links[connection]!);
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends an offer every 100 ms until `to` receives one, for up to `withinMs`; returns how long it took. */
export async function untilRelayed(from: TestClient, to: TestClient, target: string, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    from.send({ type: 'offer', offer: { sdp: 'retry' }, name: target });
    try {
      await to.nextOf('offer', 100);
      return Date.now() - started;
    } catch {
      if (Date.now() - started > withinMs) throw new Error(`no cross-node relay to ${target} within ${withinMs} ms`);
    }
  }
}
