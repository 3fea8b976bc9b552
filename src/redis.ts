/**
 * `signalling-hub/redis`: a Redis backplane for running several hubs as one
 * cluster. Needs the `redis` package (≥ 5), an optional peer dependency.
 *
 * @example
 * ```ts
 * import { SignallingHub } from 'signalling-hub';
 * import { RedisBackplane } from 'signalling-hub/redis';
 *
 * const hub = new SignallingHub({ backplane: new RedisBackplane({ url: process.env.REDIS_URL }) });
 * ```
 * @module
 */
export { RedisBackplane } from './cluster/redis/redis-backplane.js';
export type { RedisBackplaneStatus } from './cluster/redis/redis-backplane.js';
export { redisBackplaneDefaults } from './cluster/redis/options.js';
export type { RedisBackplaneOptions, ResolvedRedisBackplaneOptions } from './cluster/redis/options.js';
export type { RedisClientLike } from './cluster/redis/client.js';
export type { RedisClusterLike } from './cluster/redis/cluster-client.js';
export { RedisBusyError, RedisOfflineError, RedisTimeoutError } from './cluster/redis/errors.js';
export { NodeLinkError, type NodeLinkErrorCode, type NodeLinkFailure } from './cluster/links/errors.js';
export type { RedisErrorCode } from './cluster/redis/errors.js';
