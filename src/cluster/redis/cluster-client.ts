import { BackplaneError } from '../../core/errors.js';
import { messageOf } from '../cluster-backplane.js';
import type { RedisSender } from './client.js';
import type { ConnectionWatcher } from './connections.js';
import { RedisOfflineError } from './errors.js';

/** A message listener as node-redis calls it. */
export type MessageListener = (message: string | Buffer, channel: string | Buffer) => unknown;

/**
 * The part of a node-redis Redis Cluster client (`createCluster()` from
 * `redis` ≥ 5) the backplane uses. A cluster client from `redis` satisfies
 * it as it is.
 */
export interface RedisClusterLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  sSubscribe(channel: string, listener: MessageListener, bufferMode?: boolean): Promise<unknown>;
  sUnsubscribe(channel: string, listener: MessageListener, bufferMode?: boolean): Promise<unknown>;
  /** The connection to the master (or, `isReadonly`, any node) serving `key`'s slot. */
  getNodeClientForKey(key: string, isReadonly?: boolean): Promise<unknown>;
  // `any`: node-redis types its listeners with `any[]`; a narrower type here would refuse a real client.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, listener: (...args: any[]) => void): unknown;
  destroy(): void;
}

/**
 * node-redis's errors for a command it never wrote: the connection to the
 * slot's master is down. The node's 'node-error' event has told the outage already.
 */
const NOT_WRITTEN = new Set(['The client is offline', 'The client is closed']);

/** node-redis's error for commands in flight on a connection that broke (they may have run): told once per outage. */
export function isConnectionLoss(error: unknown): boolean {
  return error instanceof Error && error.message === 'Socket closed unexpectedly';
}

/** Shortest wait between two looks for the slot's master (a burst of redirects, a master away). */
const LOOK_AGAIN_MS = 50;
/** Longest wait for the probe of a look. */
const LOOK_TIMEOUT_MS = 1000;

/** The connection to one node, as node-redis's cluster client hands it out. */
interface NodeConnection {
  readonly isReady: boolean;
  sendCommand(args: Array<string | Buffer>, options?: { timeout?: number }): Promise<unknown>;
}

/** {@link RedisSender} on a cluster, plus what the backplane asks of it there. */
export interface ClusterSender extends RedisSender {
  /** Looks up the connection to the master serving the slot again (after a start, a redirect or a failure). */
  refresh(): Promise<void>;
}

/**
 * Commands of the backplane's slot (`anchor` is a key of it) sent straight
 * on the connection to the slot's master, as on a single Redis: written in
 * the order they are made. node-redis's routed path is not used for them
 * because of how it follows a redirect: a command answered `MOVED` waits for
 * a fresh look at the cluster, while a command made after node-redis's slot
 * table changed goes to the new master at once and overtakes it. Here a
 * command answered `MOVED` or `ASK` (a reshard, a failover) fails like any
 * other failed command (its relays are answered `backplane-unavailable`),
 * and the connection is looked up again: node-redis follows the redirect of
 * a probe and updates its slot table, and the commands made after that go to
 * the new master. Commands sent before a redirect was seen have run on the
 * old master, or fail too, so one sender's order holds.
 */
export function clusterSender(cluster: RedisClusterLike, anchor: string): ClusterSender {
  let node: NodeConnection | undefined;
  let looking: Promise<void> | undefined;
  /** When the last look ended: while a master is away, look again at most every LOOK_AGAIN_MS. */
  let lookedAt = 0;
  const refresh = (): Promise<void> =>
    (looking ??= (async () => {
      // Routed with redirects followed: a MOVED here makes node-redis read the slots again. Bounded:
      // a probe queued on a node that never answers must not stop the next look.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const probe = cluster.sendCommand(anchor, false, ['EXISTS', anchor]).catch(() => {});
      await Promise.race([probe, new Promise((resolve) => (timer = setTimeout(resolve, LOOK_TIMEOUT_MS)))]);
      clearTimeout(timer);
      node = (await cluster.getNodeClientForKey(anchor, false)) as NodeConnection;
    })().finally(() => {
      looking = undefined;
      lookedAt = performance.now();
    }));
  const lookAgain = () => {
    if (looking === undefined && performance.now() - lookedAt >= LOOK_AGAIN_MS) refresh().catch(() => {});
  };
  const failed = (error: unknown): never => {
    const message = error instanceof Error ? error.message : '';
    if (message.startsWith('MOVED') || message.startsWith('ASK') || NOT_WRITTEN.has(message) || isConnectionLoss(error)) {
      lookAgain();
    }
    throw NOT_WRITTEN.has(message) ? new RedisOfflineError() : error;
  };
  return {
    get isReady() {
      if (cluster.isReady && node?.isReady === true) return true;
      // Not sendable now: look again (commands fail fast meanwhile, as while a single Redis is away).
      if (cluster.isReady) lookAgain();
      return false;
    },
    sendCommand: (args, options) => node!.sendCommand(args, options).catch(failed),
    // Every node node-redis knows (SCRIPT LOAD is sent to all of them, replicas included).
    everywhere: (args) => cluster.sendCommand(anchor, false, args),
    refresh,
  };
}

/**
 * Creates a Redis Cluster client from seed URLs (`redis` is loaded only now).
 * Credentials and TLS of the first URL apply to every node it discovers
 * (node-redis gives discovered nodes only its `defaults`).
 */
export async function createRedisCluster(urls: readonly string[], reconnectMaxDelay: number): Promise<RedisClusterLike> {
  const { createCluster } = await import('redis');
  const first = new URL(urls[0]!);
  return createCluster({
    rootNodes: urls.map((url) => ({ url })),
    defaults: {
      username: first.username === '' ? undefined : decodeURIComponent(first.username),
      password: first.password === '' ? undefined : decodeURIComponent(first.password),
      // Commands fail at once while a node is away instead of piling up and being replayed late.
      disableOfflineQueue: true,
      socket: {
        tls: first.protocol === 'rediss:',
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, reconnectMaxDelay),
      },
    },
    // Replicas get a connection and the scripts up front (ScriptRunner.load): a replica promoted by a
    // failover runs EVALSHAs at once.
    useReplicas: true,
    // A master that went away (a failover) is looked up again soon, not after node-redis's default 5 s.
    topologyRefreshOnReconnectionAttemptStrategy: Math.min(reconnectMaxDelay, 500),
  });
}

/**
 * Resolves once the cluster client has discovered the cluster (connecting it
 * if nobody has). node-redis gives up at once when no seed answers; this
 * tries again, waiting `delay(attempt)` ms in between, until `closed()` (the
 * caller bounds it in time), as a single client's reconnection does.
 */
export async function whenClusterReady(
  cluster: RedisClusterLike,
  delay: (attempt: number) => number,
  closed: () => boolean,
): Promise<void> {
  for (let attempt = 0; !cluster.isReady; attempt++) {
    if (cluster.isOpen) {
      await new Promise<void>((resolve) => {
        const onConnect = () => {
          cluster.off('connect', onConnect);
          resolve();
        };
        cluster.on('connect', onConnect);
      });
      return;
    }
    try {
      await cluster.connect();
    } catch (error) {
      // Its 'error' event told the start which seed failed and why.
      if (closed()) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay(attempt)));
      if (closed()) throw error;
    }
  }
}

/**
 * Watches a cluster client for the backplane: a node's failure is reported
 * once until that node is ready again, and a node (re)connecting after the
 * start tells the backplane (`ready`: reload the scripts, re-assert its
 * names; after a failover the new master may lack both). `resubscribe` is
 * called when node-redis could not move the sharded subscription after its
 * slot moved (it does so itself otherwise). Returns what removes the
 * listeners, unless `keep` (a client of the backplane's own keeps them:
 * node-redis throws on an unhandled 'error').
 */
export function watchCluster(
  cluster: RedisClusterLike,
  watcher: ConnectionWatcher,
  resubscribe: () => void,
  keep: boolean,
): () => void {
  const down = new Set<string>();
  const addressOf = (node: unknown) => {
    const { host, port } = (node ?? {}) as { host?: string; port?: number };
    return `${host}:${port}`;
  };
  const changed = () => {
    watcher.changed('command', cluster.isReady);
    watcher.changed('subscriber', cluster.isReady);
  };
  const fail = (cause: unknown, where: string) => {
    if (watcher.closed()) return;
    changed();
    if (down.has(where)) return;
    down.add(where);
    watcher.report(
      new BackplaneError(`The Redis Cluster connection${where === '' ? '' : ` to ${where}`} failed: ${messageOf(cause)}`, cause),
    );
  };
  const error = (cause: unknown) => fail(cause, '');
  const nodeError = (cause: unknown, node: unknown) => fail(cause, addressOf(node));
  const nodeReady = (node: unknown) => {
    down.delete(addressOf(node));
    down.delete('');
    changed();
    watcher.ready();
  };
  const moved = () => resubscribe();
  cluster.on('error', error);
  cluster.on('node-error', nodeError);
  cluster.on('node-ready', nodeReady);
  cluster.on('connect', changed);
  cluster.on('disconnect', changed);
  cluster.on('sharded-channel-moved-error', moved);
  return () => {
    if (keep) return;
    cluster.off('error', error);
    cluster.off('node-error', nodeError);
    cluster.off('node-ready', nodeReady);
    cluster.off('connect', changed);
    cluster.off('disconnect', changed);
    cluster.off('sharded-channel-moved-error', moved);
  };
}

/** What a {@link ShardedSubscription} tells the backplane. */
export interface SubscriptionWatcher {
  /** Wait between tries to subscribe again. */
  readonly retryMs: number;
  closed(): boolean;
  /** Whether the channel is subscribed (false while a try is under way). */
  up(up: boolean): void;
  failed(error: unknown): void;
}

/**
 * A node's sharded subscription to its channel, on the master of the
 * channel's slot. node-redis moves it when the slot moves (a `sunsubscribe`
 * push) or its node changes; when it could not, {@link resubscribe} tries
 * again until it works (subscribing one listener twice is harmless: node-redis
 * keeps a set).
 */
export class ShardedSubscription {
  constructor(
    private readonly cluster: RedisClusterLike,
    /** Each channel with its listener, subscribed in this order (the node's channels share one slot). */
    private readonly channels: ReadonlyArray<readonly [string, MessageListener]>,
    private readonly watcher: SubscriptionWatcher,
  ) {}

  async subscribe(): Promise<void> {
    // As bytes, as on a single Redis: a batch is read without turning all of it into text first.
    for (const [channel, listener] of this.channels) await this.cluster.sSubscribe(channel, listener, true);
  }

  resubscribe(): void {
    const { watcher } = this;
    if (watcher.closed()) return;
    // Deaf until it works: the state says so (readyz), and each failed try is told.
    watcher.up(false);
    this.subscribe().then(
      () => watcher.up(true),
      (error: unknown) => {
        watcher.failed(error);
        setTimeout(() => this.resubscribe(), watcher.retryMs).unref?.();
      },
    );
  }

  /** Best effort, on close (a host's cluster client stays open). */
  unsubscribe(): void {
    for (const [channel, listener] of this.channels) this.cluster.sUnsubscribe(channel, listener, true).catch(() => {});
  }
}
