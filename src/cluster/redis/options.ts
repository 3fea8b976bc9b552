import { InvalidOptionError } from '../../core/errors.js';
import type { RedisClientLike } from './client.js';

/** Options of {@link RedisBackplane}. Give `url` or `client`; every other one is optional. */
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
   * Prefix of every key and channel, so that several clusters can share a Redis.
   * @default 'signalling-hub:'
   */
  keyPrefix?: string;
  /**
   * This node's id, unique in the cluster. `start()` fails while a live lease
   * holds it, so a node restarted with a fixed id must wait `leaseTtl` (until
   * then its old call partners have not been told `leave`).
   * @default a random UUID
   */
  nodeId?: string;
  /**
   * Lifetime of this node's lease in ms. A node that stops refreshing it
   * (SIGKILL, a frozen process, a lost network) is dead after this long: its
   * names are free and, within one more `heartbeatInterval`, its call
   * partners on other nodes hear `leave`. The defaults detect a SIGKILLed
   * node within 6.5 s (10 s is the promise, with room for a slow Redis).
   * @default 5000
   */
  leaseTtl?: number;
  /**
   * How often, in ms, the node refreshes its lease and checks the leases of
   * the nodes its peers are in calls with. Keep it well under `leaseTtl`
   * (a third or less) so a slow round trip does not expire a live node.
   * @default 1500
   */
  heartbeatInterval?: number;
  /**
   * Milliseconds a Redis command may take before the claim or forward that
   * sent it is answered `unavailable`.
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
   * Names reaped per heartbeat from each dead node, bounding the time one
   * Lua call holds Redis.
   * @default 1000
   */
  reapBatch?: number;
}

export interface ResolvedRedisBackplaneOptions {
  url: string;
  client: RedisClientLike | undefined;
  keyPrefix: string;
  nodeId: string;
  leaseTtl: number;
  heartbeatInterval: number;
  commandTimeout: number;
  reconnectMaxDelay: number;
  reapBatch: number;
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(option, 'a positive number', String(value));
  }
  return value;
}

// Node ids go into keys, channels and the tab-separated envelope header.
const badNodeId = /[\s\u0000-\u001f\u007f-\u009f]/;

/** Fills in defaults; throws {@link InvalidOptionError} on a value that cannot work. */
export function resolveRedisBackplaneOptions(options: RedisBackplaneOptions = {}): ResolvedRedisBackplaneOptions {
  const nodeId = options.nodeId ?? globalThis.crypto.randomUUID();
  if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.length > 128 || badNodeId.test(nodeId)) {
    throw new InvalidOptionError('nodeId', '1–128 characters without whitespace or control characters', String(nodeId));
  }
  const keyPrefix = options.keyPrefix ?? 'signalling-hub:';
  if (typeof keyPrefix !== 'string') throw new InvalidOptionError('keyPrefix', 'a string', typeof keyPrefix);
  const leaseTtl = positive('leaseTtl', options.leaseTtl, 5000);
  const heartbeatInterval = positive('heartbeatInterval', options.heartbeatInterval, 1500);
  if (heartbeatInterval >= leaseTtl) {
    throw new InvalidOptionError('heartbeatInterval', `less than leaseTtl (${leaseTtl} ms)`, String(heartbeatInterval));
  }
  const client = options.client;
  if (client !== undefined && (typeof client !== 'object' || typeof client.sendCommand !== 'function')) {
    throw new InvalidOptionError('client', 'a node-redis client', typeof client);
  }
  return {
    url: options.url ?? 'redis://127.0.0.1:6379',
    client,
    keyPrefix,
    nodeId,
    leaseTtl,
    heartbeatInterval,
    commandTimeout: positive('commandTimeout', options.commandTimeout, 1000),
    reconnectMaxDelay: positive('reconnectMaxDelay', options.reconnectMaxDelay, 1000),
    reapBatch: Math.floor(positive('reapBatch', options.reapBatch, 1000)),
  };
}
