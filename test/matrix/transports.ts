import type { EventEmitter } from 'eventemitter3';
import { type HubEvents, type HubOptions, type HubStats, type Peer, SignallingHub, type Transport } from '../../src/index.js';
import { RedisBackplane } from '../../src/redis.js';
import type { AttachOptions } from '../../src/ws.js';
import { BunClient } from '../helpers/bun-client.js';
import { BunChild, type BunHub, type TransportRecord } from '../helpers/bun-hub.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { MemoryClient, type MemoryInput } from '../helpers/memory-client.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { RedisServer } from '../helpers/redis-server.js';
import { TestClient } from '../helpers/test-client.js';
import { HttpClient } from '../http/raw-http.js';
import type { ConnectOptions, MatrixClient, Role, TestHub, TestTransportFactory, TransportCapabilities } from './factory.js';

type LooseEmitter = EventEmitter<string>;

/** Records the transports `hub.open()` is given, so a test can check what the factory built. */
function recordTransports(hub: SignallingHub, into: Transport[]): void {
  // A mirror of a hub in another process (Bun) is told of its transports by that process.
  if (!(hub instanceof SignallingHub)) return;
  const open = hub.open.bind(hub);
  hub.open = (transport, info) => {
    into.push(transport);
    return open(transport, info);
  };
}

/** What every test hub shares: events, peers and clean-up over its nodes. */
abstract class BaseTestHub implements TestHub {
  readonly transports: Transport[] = [];
  protected readonly clients: MatrixClient[] = [];

  constructor(readonly hubs: readonly SignallingHub[]) {
    for (const hub of hubs) recordTransports(hub, this.transports);
  }

  hub(role: Role = 'caller'): SignallingHub {
    return this.hubs[role === 'callee' ? this.hubs.length - 1 : 0]!;
  }

  abstract connect(role?: Role, options?: ConnectOptions): Promise<MatrixClient>;
  protected abstract closeNodes(): Promise<void>;

  on<K extends keyof HubEvents>(event: K, listener: HubEvents[K]): void {
    for (const hub of this.hubs) (hub as unknown as LooseEmitter).on(event, listener as never);
  }

  off<K extends keyof HubEvents>(event: K, listener: HubEvents[K]): void {
    for (const hub of this.hubs) (hub as unknown as LooseEmitter).off(event, listener as never);
  }

  once<K extends keyof HubEvents>(event: K): Promise<Parameters<HubEvents[K]>[0]> {
    return new Promise((resolve) => {
      const listener = ((arg: Parameters<HubEvents[K]>[0]) => {
        this.off(event, listener);
        resolve(arg);
      }) as unknown as HubEvents[K];
      this.on(event, listener);
    });
  }

  getPeer(name: string): Peer | undefined {
    for (const hub of this.hubs) {
      const peer = hub.getPeer(name);
      if (peer !== undefined) return peer;
    }
    return undefined;
  }

  peers(): Peer[] {
    return this.hubs.flatMap((hub) => [...hub.peers()]);
  }

  get size(): number {
    return this.hubs.reduce((sum, hub) => sum + hub.size, 0);
  }

  stats(role?: Role): Promise<HubStats> {
    return Promise.resolve(this.hub(role).stats());
  }

  async settled(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) client.abort();
    await this.closeNodes();
  }

  protected track<C extends MatrixClient>(client: C): C {
    this.clients.push(client);
    return client;
  }
}

/** The core alone: `hub.open()` with an in-memory transport, text or bytes. */
class MemoryTestHub extends BaseTestHub {
  constructor(
    hub: SignallingHub,
    private readonly input: MemoryInput,
  ) {
    super([hub]);
  }

  connect(_role?: Role, options: ConnectOptions = {}): Promise<MatrixClient> {
    return Promise.resolve(
      this.track(new MemoryClient(this.hubs[0]!, this.input, { url: '/', headers: { ...options.headers } })),
    );
  }

  protected async closeNodes(): Promise<void> {
    await this.hubs[0]!.close();
  }
}

/** Real `ws` clients on loopback to hubs attached to `http.Server`s. */
class WsTestHub extends BaseTestHub {
  constructor(
    private readonly servers: HubServer[],
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    super(servers.map((server) => server.hub));
  }

  urlOf(role: Role = 'caller'): string {
    return this.servers[role === 'callee' ? this.servers.length - 1 : 0]!.url;
  }

  async connect(role?: Role, options: ConnectOptions = {}): Promise<MatrixClient> {
    return this.track(await TestClient.connect(this.urlOf(role), { headers: options.headers }));
  }

  protected async closeNodes(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.close()));
    await this.onClose();
  }
}

/** Two nodes through one Redis: name registry and relays must look the same as on one node. */
class ClusterTestHub extends WsTestHub {
  constructor(servers: HubServer[], onClose: () => Promise<void>) {
    super(servers, onClose);
  }

  /** Waits until Redis holds exactly the names the nodes hold (releases are asynchronous). */
  override async settled(): Promise<void> {
    const backplane = this.hubs[0]!.options.backplane as RedisBackplane;
    const deadline = Date.now() + 5000;
    for (;;) {
      const local = new Set<string>();
      for (const hub of this.hubs) {
        for (const peer of hub.peers()) local.add(`${peer.name}@${hub.options.backplane!.nodeId}`);
      }
      const shared = new Set([...(await backplane.listNames())].map(([name, node]) => `${name}@${node}`));
      if (local.size === shared.size && [...local].every((entry) => shared.has(entry))) return;
      if (Date.now() > deadline) throw new Error(`names did not settle: nodes ${[...local].join()}, Redis ${[...shared].join()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Clients of the HTTP fallback (POSTs up, long-polls down) to a hub attached to an `http.Server`. */
class HttpTestHub extends BaseTestHub {
  constructor(private readonly server: HubServer) {
    super([server.hub]);
  }

  async connect(_role?: Role, options: ConnectOptions = {}): Promise<MatrixClient> {
    return this.track(await HttpClient.connect(`http://127.0.0.1:${this.server.port}/`, options.headers));
  }

  protected async closeNodes(): Promise<void> {
    await this.server.close();
  }
}

/**
 * Real `ws` clients on loopback to a hub on `Bun.serve` (`signalling-hub/bun`)
 * in a Bun child process. `hubs` are mirrors of the child's hub: its events
 * and peers, its methods forwarded; hook closures still run here (see BunChild.start).
 */
class BunTestHub extends BaseTestHub {
  constructor(private readonly bun: BunHub) {
    super([bun.hub as unknown as SignallingHub]);
    // The child reports each transport its hub is given; the records land in this list.
    bun.hub.transports = this.transports as unknown as TransportRecord[];
  }

  async connect(_role?: Role, options: ConnectOptions = {}): Promise<MatrixClient> {
    return this.track(await BunClient.connect(this.bun.url, this.bun.hub, { headers: options.headers }));
  }

  /** Everything the child's hub did so far has reached this process. */
  override async settled(): Promise<void> {
    await this.bun.hub.sync();
  }

  override stats(): Promise<HubStats> {
    return this.bun.hub.stats();
  }

  protected async closeNodes(): Promise<void> {
    await this.bun.close();
  }
}

/**
 * The hub on Bun: one Bun child per test file, a fresh hub and `Bun.serve` per
 * test. Every case runs: async hooks (`authenticate`) are called back in this
 * process; the synchronous `validateName` crosses as its source, so a case
 * must write it without variables from around it.
 */
function bun(): TestTransportFactory {
  let child: BunChild | undefined;
  return {
    name: 'Bun (Bun.serve, in a child process)',
    capabilities: { frameSizeClose: true, binaryFrames: true, nodes: 1 },
    async setup() {
      child = new BunChild();
      await child.ready;
    },
    async teardown() {
      await child?.stop();
      child = undefined;
    },
    async start(options?: HubOptions) {
      if (child === undefined) throw new Error('the Bun factory needs setup() first');
      return new BunTestHub(await child.start(options));
    },
  };
}

function memory(input: MemoryInput): TestTransportFactory {
  return {
    name: `in-memory (${input})`,
    capabilities: { frameSizeClose: false, binaryFrames: true, nodes: 1 },
    start(options?: HubOptions) {
      return Promise.resolve(new MemoryTestHub(new SignallingHub(options), input));
    },
  };
}

function ws(name: string, frameReader: 'fast' | 'ws', attachOptions: AttachOptions): TestTransportFactory {
  const capabilities: TransportCapabilities = { frameSizeClose: true, binaryFrames: true, nodes: 1, frameReader };
  return {
    name,
    capabilities,
    async start(options?: HubOptions) {
      return new WsTestHub([await startHubServer(options, attachOptions)]);
    },
  };
}

/**
 * The HTTP fallback of `attach()`: no frame-level size limit (a frame over
 * `maxMessageBytes` in a body that fits is answered `message-too-large`), no
 * binary frames. A short `sessionTimeout` so that a client that stops making
 * requests (`abort()`) is lost, and the hub hears 1006, within about a second;
 * a short `closeTimeout` so that closing a hub does not wait for aborted clients
 * to fetch their close event.
 */
function httpFallback(): TestTransportFactory {
  const attachOptions: AttachOptions = { closeTimeout: 100, httpFallback: { sessionTimeout: 1000 } };
  return {
    name: 'HTTP fallback (POST up, long-poll down)',
    capabilities: { frameSizeClose: false, binaryFrames: false, nodes: 1 },
    async start(options?: HubOptions) {
      return new HttpTestHub(await startHubServer(options, attachOptions));
    },
  };
}

/**
 * Two hubs (callers on the first, callees on the second) with `backplane`'s
 * options; on close, `left()` must find nothing of theirs in Redis.
 */
async function twoNodes(
  options: HubOptions | undefined,
  backplane: () => RedisBackplane,
  left: () => Promise<string | undefined>,
): Promise<TestHub> {
  const node = () => startHubServer({ ...options, backplane: backplane() });
  const servers = [await node(), await node()];
  await Promise.all(servers.map((server) => server.hub.ready));
  return new ClusterTestHub(servers, async () => {
    // Every node released its names and its lease: nothing of this test is left in Redis.
    const keys = await left();
    if (keys !== undefined) throw new Error(`keys left in Redis: ${keys}`);
  });
}

/**
 * Two hubs through a real `redis-server` started for the test file; a fresh key prefix per hub.
 * With `links`, each node also listens for node links on loopback, so relays between them go by
 * TCP once each saw the other hold the target (Redis then carries names, rooms and refusals).
 */
function redisCluster(links = false): TestTransportFactory {
  let redis: RedisServer | undefined;
  let round = 0;
  return {
    name: links ? 'two nodes through Redis, relays over node links' : 'two nodes through Redis',
    capabilities: { frameSizeClose: true, binaryFrames: true, nodes: 2, frameReader: 'fast' },
    async setup() {
      redis = await RedisServer.start();
    },
    async teardown() {
      await redis?.dispose();
      redis = undefined;
    },
    start(options?: HubOptions) {
      if (redis === undefined) throw new Error('the Redis factory needs setup() first');
      const keyPrefix = `matrix${round++}:`;
      return twoNodes(
        options,
        () =>
          new RedisBackplane({
            url: redis!.url,
            keyPrefix,
            leaseTtl: 1500,
            heartbeatInterval: 250,
            ...(links ? { links: '127.0.0.1:0' } : {}),
          }),
        async () => {
          let left: string | undefined;
          // (An inline command answers undefined when Redis is slow to answer: ask again.)
          for (let attempt = 0; attempt < 5 && left === undefined; attempt++) left = await redis!.command(`KEYS {${keyPrefix}}*`);
          return left === '*0' ? undefined : `${left} under {${keyPrefix}}`;
        },
      );
    },
  };
}

/**
 * The same two hubs through a real Redis Cluster (three masters, three
 * replicas) started for the test file: every key in one slot, node channels
 * on sharded pub/sub.
 */
function redisClusterOfShards(): TestTransportFactory {
  let cluster: RedisCluster | undefined;
  let round = 0;
  return {
    name: 'two nodes through a Redis Cluster',
    capabilities: { frameSizeClose: true, binaryFrames: true, nodes: 2, frameReader: 'fast' },
    async setup() {
      cluster = await RedisCluster.start();
    },
    async teardown() {
      await cluster?.dispose();
      cluster = undefined;
    },
    start(options?: HubOptions) {
      if (cluster === undefined) throw new Error('the Redis Cluster factory needs setup() first');
      const keyPrefix = `matrix${round++}:`;
      return twoNodes(
        options,
        () => new RedisBackplane({ clusterUrls: cluster!.urls, keyPrefix, leaseTtl: 1500, heartbeatInterval: 250 }),
        async () => {
          const keys = await cluster!.keys(`{${keyPrefix}}nodes`, `{${keyPrefix}}*`);
          return keys.length === 0 ? undefined : keys.join(', ');
        },
      );
    },
  };
}

/**
 * Every transport the hub suites run over. A new transport joins the matrix
 * by adding its factory here.
 */
export const transports: readonly TestTransportFactory[] = [
  memory('text'),
  memory('bytes'),
  ws('ws (fast frame reader)', 'fast', {}),
  ws('ws (fast path off)', 'ws', { fastPath: false }),
  redisCluster(),
  redisCluster(true),
  redisClusterOfShards(),
  httpFallback(),
  bun(),
];
