import { InvalidOptionError } from '../../core/errors.js';
import {
  type Check,
  arrayOf,
  describeValue,
  integer,
  resolveOptions,
  string,
  url,
  withMethods,
} from '../../core/option-check.js';
import { MAX_TIMER_MS } from '../../core/options.js';
import { nodeIdPattern } from '../node-id.js';
import type { RedisClientLike } from './client.js';
import type { RedisClusterLike } from './cluster-client.js';
import { taggedPrefix } from './keys.js';

/**
 * Options of {@link RedisBackplane}. Give one of `url` or `client` (a single
 * Redis), `clusterUrls` or `cluster` (a Redis Cluster); every other one is optional.
 */
export interface RedisBackplaneOptions {
  /**
   * Redis to connect to, e.g. `redis://127.0.0.1:6379` (also `rediss://`,
   * user and password in the URL). The backplane creates and closes its own
   * two connections. Ignored when `client` is given.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * A node-redis client (`createClient()` from `redis` ≥ 5) the host already
   * has, connected or not. The backplane uses it for commands and
   * `duplicate()`s it for its subscription; it connects it if needed but never
   * closes it (it does close the duplicate). Its offline queue stays as the host
   * set it: the backplane checks `isReady` itself and times its commands out
   * after `commandTimeout`.
   * @default undefined
   */
  client?: RedisClientLike;
  /**
   * Seed URLs of a Redis Cluster (Redis ≥ 7), e.g.
   * `['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379']`: the backplane
   * discovers the cluster from the first that answers, creates its own
   * node-redis cluster client and closes it. Credentials and TLS of the first
   * URL apply to every node. Every key and channel of the backplane lives in
   * one hash slot (the tagged `keyPrefix`); node channels use sharded pub/sub.
   * Not together with `url`, `client` or `cluster`.
   * @default undefined
   */
  clusterUrls?: readonly string[];
  /**
   * A node-redis Redis Cluster client (`createCluster()` from `redis` ≥ 5)
   * the host already has, connected or not (as `clusterUrls`, but the
   * backplane never closes it; it unsubscribes its channel on close). Give it
   * `useReplicas: true` (the scripts are then loaded on replicas too, so a
   * replica promoted by a failover runs them at once) and
   * `disableOfflineQueue: true` in its `defaults` (a command to a master
   * that is away fails at once instead of waiting). Not together with
   * `url`, `client` or `clusterUrls`.
   * @default undefined
   */
  cluster?: RedisClusterLike;
  /**
   * Prefix of every key and channel, so that several clusters can share a
   * Redis. It is used as a hash tag: keys are `{<keyPrefix>}name:…` (a prefix
   * that holds a `{…}` tag already is used as it is), so that on a Redis
   * Cluster one hub cluster's keys share a slot.
   * @default 'signalling-hub:'
   */
  keyPrefix?: string;
  /**
   * This node's id, unique in the cluster: 1–128 characters without
   * whitespace or control characters. `start()` fails while a live lease
   * holds it, so a node restarted with a fixed id must wait `leaseTtl` (until
   * then its old call partners have not been told `leave`).
   * @default a random UUID
   */
  nodeId?: string;
  /**
   * Lifetime of this node's lease in ms (a whole number). A node that stops
   * refreshing it (SIGKILL, a frozen process, a lost network) is dead after
   * this long: its names are free and, within one more `heartbeatInterval`,
   * its call partners on other nodes hear `leave`. The defaults detect a
   * SIGKILLed node within 6.5 s (10 s is the promise, with room for a slow Redis).
   * @default 5000
   */
  leaseTtl?: number;
  /**
   * How often, in ms, the node refreshes its lease and checks the leases of
   * the nodes its peers are in calls with. Must be below `leaseTtl` (a third
   * or less is wise, so a slow round trip does not expire a live node).
   * @default 1500
   */
  heartbeatInterval?: number;
  /**
   * Milliseconds a Redis command may take before the claim or forward that
   * sent it is answered `unavailable`. Such a command does not take effect if
   * Redis runs it later than that (it carries a deadline in Redis time).
   * @default 1000
   */
  commandTimeout?: number;
  /**
   * Longest wait, in ms, between reconnection attempts to a lost Redis (the
   * wait doubles from 50 ms up to this). Only for connections the backplane
   * creates from `url`; a given `client` keeps its own `reconnectStrategy`.
   * Keep it under a few seconds: cross-node relay resumes one successful
   * reconnection after Redis returns.
   * @default 1000
   */
  reconnectMaxDelay?: number;
  /**
   * Milliseconds `start()` (and so `hub.ready`) waits to reach Redis, load
   * the scripts, subscribe and take the lease. Past it, `start()` rejects
   * with a `BackplaneError` (`SH_ERR_BACKPLANE`) naming the last connection failure, and the
   * connections it opened are closed: a Redis that is down or frozen at start
   * fails the start instead of leaving `hub.ready` pending for ever.
   * @default 10000
   */
  startTimeout?: number;
  /**
   * Names reaped per heartbeat from each dead node, bounding the time one
   * Lua call holds Redis.
   * @default 1000
   */
  reapBatch?: number;
  /**
   * Commands that may wait for Redis's answer at once. A Redis that stalls
   * with its connection open (paused, swapping, overloaded) answers nothing,
   * and without a cap every cross-node message would pile up in memory; past
   * it, messages are answered `backplane-unavailable`, logins
   * `backplane-unavailable` and heartbeats skipped, without sending anything.
   * Cross-node messages may use all but the last `min(16, maxInFlightCommands / 4)`
   * slots, kept for heartbeats, claims and releases. A command counts until
   * Redis answers it, even after `commandTimeout` gave up on it.
   * @default 1024
   */
  maxInFlightCommands?: number;
  /**
   * Bytes of commands (their arguments as UTF-8) that may wait for Redis's
   * answer at once; past it, as for `maxInFlightCommands`. Cross-node messages
   * may use seven eighths of it, so a single message larger than that is
   * never forwarded (answered `backplane-unavailable`).
   * @default 8388608
   */
  maxInFlightBytes?: number;
  /**
   * Where this node listens for links from the other nodes, `host:port` (port `0`: one the system
   * picks), e.g. `'10.0.0.5:7000'`. With it, a batch of messages to peers this node saw on one other
   * node goes straight to that node over TCP (when that node has links too) instead of through Redis,
   * which then carries only names, leases, rooms and what a link refused (docs/CLUSTER.md, "Node
   * links"). The address and a secret go into Redis with the node's lease; a node proves it read them
   * there before another takes its batches. Without it, every message goes through Redis.
   * @default undefined
   */
  links?: string;
  /**
   * The host other nodes dial for this node's links, when it is not the host `links` listens on
   * (which must then be an address they can reach, not `0.0.0.0` or `::`).
   * @default undefined
   */
  linksAdvertise?: string;
}

/** The options in force, every default filled in. */
export interface ResolvedRedisBackplaneOptions {
  readonly url: string;
  readonly client: RedisClientLike | undefined;
  readonly clusterUrls: readonly string[] | undefined;
  readonly cluster: RedisClusterLike | undefined;
  readonly keyPrefix: string;
  readonly nodeId: string;
  readonly leaseTtl: number;
  readonly heartbeatInterval: number;
  readonly commandTimeout: number;
  readonly reconnectMaxDelay: number;
  readonly startTimeout: number;
  readonly reapBatch: number;
  readonly maxInFlightCommands: number;
  readonly maxInFlightBytes: number;
  readonly links: string | undefined;
  readonly linksAdvertise: string | undefined;
}

/**
 * The defaults of {@link RedisBackplaneOptions}, one object (each option's
 * `@default` says the same). `nodeId` is `undefined` here: every backplane
 * draws a random UUID.
 */
export const redisBackplaneDefaults: Readonly<Omit<ResolvedRedisBackplaneOptions, 'nodeId'> & { nodeId: undefined }> =
  Object.freeze({
    url: 'redis://127.0.0.1:6379',
    client: undefined,
    clusterUrls: undefined,
    cluster: undefined,
    keyPrefix: 'signalling-hub:',
    nodeId: undefined,
    leaseTtl: 5000,
    heartbeatInterval: 1500,
    commandTimeout: 1000,
    reconnectMaxDelay: 1000,
    startTimeout: 10_000,
    reapBatch: 1000,
    maxInFlightCommands: 1024,
    maxInFlightBytes: 8 * 1024 * 1024,
    links: undefined,
    linksAdvertise: undefined,
  });

type Given = Omit<ResolvedRedisBackplaneOptions, 'nodeId'> & { nodeId: string | undefined };

const checks: { readonly [K in keyof Given]-?: Check<Given[K]> } = {
  url: url('a redis:// or rediss:// URL', ['redis:', 'rediss:']),
  client: withMethods<RedisClientLike>('a node-redis client', ['sendCommand', 'duplicate', 'connect', 'on', 'off', 'destroy']),
  clusterUrls: arrayOf(
    url('a redis:// or rediss:// URL', ['redis:', 'rediss:']),
    'a non-empty array of redis:// or rediss:// URLs',
    1,
  ),
  cluster: withMethods<RedisClusterLike>('a node-redis cluster client', [
    'sendCommand',
    'sSubscribe',
    'sUnsubscribe',
    'connect',
    'on',
    'off',
    'destroy',
  ]),
  keyPrefix: string(),
  nodeId: string('1–128 characters without whitespace or control characters', nodeIdPattern),
  leaseTtl: integer(10, MAX_TIMER_MS),
  heartbeatInterval: integer(1, MAX_TIMER_MS),
  commandTimeout: integer(1, MAX_TIMER_MS),
  reconnectMaxDelay: integer(1, MAX_TIMER_MS),
  startTimeout: integer(1, MAX_TIMER_MS),
  reapBatch: integer(1, 1_000_000),
  maxInFlightCommands: integer(4),
  maxInFlightBytes: integer(65536),
  links: string('host:port (e.g. 10.0.0.5:7000, [::1]:0)', /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/),
  linksAdvertise: string('a host name or address', /^[^\s/]+$/),
};

/**
 * Fills in defaults; throws {@link InvalidOptionError} on an unknown option
 * (with a suggestion) or a value that cannot work.
 */
export function resolveRedisBackplaneOptions(options?: unknown): ResolvedRedisBackplaneOptions {
  const resolved = resolveOptions<Given>('RedisBackplane', options, redisBackplaneDefaults, checks);
  // One Redis to talk to: a URL or a client for a single Redis, seed URLs or a client for a Redis Cluster.
  const raw = (options ?? {}) as Record<string, unknown>;
  const given = (['url', 'client', 'clusterUrls', 'cluster'] as const).filter((key) => raw[key] !== undefined);
  const cluster = resolved.clusterUrls !== undefined || resolved.cluster !== undefined;
  if (cluster && given.length > 1) {
    throw new InvalidOptionError(given[1]!, `not given together with ${given[0]} (one Redis or one Redis Cluster)`, 'given too');
  }
  if (cluster && taggedPrefix(resolved.keyPrefix) === undefined) {
    throw new InvalidOptionError('keyPrefix', 'a non-empty string with a Redis Cluster (it is the hash tag of every key)', "''");
  }
  if (resolved.heartbeatInterval >= resolved.leaseTtl) {
    throw new InvalidOptionError(
      'heartbeatInterval',
      `less than leaseTtl (${resolved.leaseTtl} ms)`,
      describeValue(resolved.heartbeatInterval),
    );
  }
  if (resolved.links !== undefined) {
    const { host, port } = linksAddress(resolved.links);
    if (port > 65535) throw new InvalidOptionError('links', 'host:port with a port of 0–65535', describeValue(resolved.links));
    if (resolved.linksAdvertise === undefined && (host === '0.0.0.0' || host === '::')) {
      throw new InvalidOptionError('linksAdvertise', `a host other nodes can dial (links listens on ${host})`, 'undefined');
    }
  }
  return Object.freeze({ ...resolved, nodeId: resolved.nodeId ?? globalThis.crypto.randomUUID() });
}

/** The host and port of the `links` option (brackets taken off an IPv6 host). */
export function linksAddress(links: string): { host: string; port: number } {
  const colon = links.lastIndexOf(':');
  const host = links.slice(0, colon);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(links.slice(colon + 1)) };
}
