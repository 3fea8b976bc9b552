import { describe, expect, it } from 'vitest';
import type { BackplaneState } from '../../src/core/backplane.js';
import { BackplaneError, InvalidOptionError, SignallingHub, SignallingHubError } from '../../src/index.js';
import {
  RedisBackplane,
  RedisBusyError,
  type RedisErrorCode,
  RedisOfflineError,
  RedisTimeoutError,
  redisBackplaneDefaults,
} from '../../src/redis.js';
import { sleep, useRedisCluster } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';
import { RedisServer, freePort } from '../helpers/redis-server.js';

function refused(options: unknown): InvalidOptionError {
  try {
    new RedisBackplane(options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('SH_ERR_INVALID_OPTION');
    return error as InvalidOptionError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('RedisBackplane options', () => {
  it('fills in the exported defaults, a random node id included', () => {
    const { options, nodeId } = new RedisBackplane();
    expect(Object.isFrozen(redisBackplaneDefaults)).toBe(true);
    expect(options).toEqual({ ...redisBackplaneDefaults, nodeId });
    expect(nodeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new RedisBackplane().nodeId).not.toBe(nodeId);
    expect(redisBackplaneDefaults).toMatchObject({ maxInFlightCommands: 1024, maxInFlightBytes: 8 * 1024 * 1024 });
  });

  it('refuses unknown options with a suggestion', () => {
    expect(refused({ leaseTTL: 5000 }).message).toMatch(/leaseTTL.*did you mean leaseTtl\?/);
    expect(refused({ maxInflightCommands: 5 }).message).toMatch(/did you mean maxInFlightCommands\?/);
    expect(refused({ bogus: 1 }).option).toBe('bogus');
  });

  it.each([
    ['leaseTtl', -1],
    ['leaseTtl', '5s'],
    ['leaseTtl', 1500.5],
    ['leaseTtl', Number.NaN],
    ['heartbeatInterval', 0],
    ['commandTimeout', '1000'],
    ['reconnectMaxDelay', -5],
    ['reapBatch', 2.5],
    ['startTimeout', 0],
    ['startTimeout', '10s'],
    ['maxInFlightCommands', 0],
    ['maxInFlightCommands', 10.5],
    ['maxInFlightBytes', '8MB'],
    ['maxInFlightBytes', 1024],
    ['client', {}],
    ['client', 'redis://127.0.0.1'],
    ['url', 'http://127.0.0.1:6379'],
    ['url', 6379],
    ['nodeId', 'two words'],
    ['nodeId', ''],
    ['nodeId', 'x'.repeat(129)],
    ['keyPrefix', 5],
  ])('refuses %s: %j', (option, value) => {
    const error = refused({ [option]: value });
    expect(error.option).toBe(option);
  });

  it('refuses a heartbeat that is not shorter than the lease, and options that are not an object', () => {
    expect(refused({ leaseTtl: 1000, heartbeatInterval: 1000 }).option).toBe('heartbeatInterval');
    expect(refused(null).message).toMatch(/RedisBackplane options/);
    expect(refused('redis://127.0.0.1').message).toMatch(/RedisBackplane options/);
  });

  it('gives its errors stable codes', () => {
    const errors = [new RedisOfflineError(), new RedisTimeoutError('EVALSHA', 1000), new RedisBusyError(1024, 42)];
    const codes: RedisErrorCode[] = ['SH_ERR_REDIS_OFFLINE', 'SH_ERR_REDIS_TIMEOUT', 'SH_ERR_REDIS_BUSY'];
    expect(errors.map((error) => error.code)).toEqual(codes);
    for (const error of errors) expect(error).toBeInstanceOf(SignallingHubError);
    expect(errors.map((error) => error.name)).toEqual(['RedisOfflineError', 'RedisTimeoutError', 'RedisBusyError']);
  });
});

describe('RedisBackplane start', () => {
  async function refusedStart(url: string, startTimeout: number): Promise<{ error: BackplaneError; tookMs: number }> {
    const backplane = new RedisBackplane({ url, startTimeout });
    const hub = new SignallingHub({ backplane });
    hub.on('error', () => {});
    const started = Date.now();
    try {
      const error = await hub.ready.then(
        () => {
          throw new Error('hub.ready resolved without Redis');
        },
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(BackplaneError);
      expect((error as BackplaneError).code).toBe('SH_ERR_BACKPLANE');
      expect(backplane.status().state).toBe('closed');
      return { error: error as BackplaneError, tookMs: Date.now() - started };
    } finally {
      await hub.close();
    }
  }

  it('rejects hub.ready after startTimeout when nothing listens on the Redis port', async () => {
    const url = `redis://u:pa%2Fss@127.0.0.1:${await freePort()}`;
    const { error, tookMs } = await refusedStart(url, 300);
    expect(error.message).toMatch(/within startTimeout \(300 ms; last failure: .*ECONNREFUSED/);
    expect(error.message).toContain('redis://127.0.0.1:');
    expect(error.message).not.toContain('pa%2Fss');
    expect(tookMs).toBeGreaterThanOrEqual(290);
    expect(tookMs).toBeLessThan(5000);
  });

  it('rejects hub.ready after startTimeout when Redis is frozen (SIGSTOP)', async () => {
    const redis = await RedisServer.start();
    redis.pause();
    try {
      const { error, tookMs } = await refusedStart(redis.url, 500);
      expect(error.message).toMatch(/Could not join the cluster/);
      expect(tookMs).toBeLessThan(5000);
    } finally {
      redis.resume();
      await redis.dispose();
    }
  });

  it('defaults startTimeout to 10 s', () => {
    expect(redisBackplaneDefaults.startTimeout).toBe(10_000);
  });
});

describe('RedisBackplane state', () => {
  const cluster = useRedisCluster('st');

  it('reports every transition and the heartbeat round trip', async () => {
    const node = await cluster.node({ commandTimeout: 300 });
    const backplane = node.hub.options.backplane as RedisBackplane;
    const states: BackplaneState[] = [];
    node.hub.on('backplane-state', (state) => states.push(state));
    expect(backplane.status().state).toBe('connected');
    expect(backplane.status().inFlightCommands).toBeTypeOf('number');
    await until(() => backplane.status().roundTripMs !== undefined, 'a heartbeat');
    expect(backplane.status().roundTripMs).toBeGreaterThanOrEqual(0);

    // Frozen with its connections open: the heartbeat goes unanswered.
    cluster.redis.pause();
    try {
      await until(() => states.includes('disconnected'), 'disconnected after a stall', 3000);
    } finally {
      cluster.redis.resume();
    }
    await until(() => states.at(-1) === 'connected', 'connected after the stall', 3000);

    // Gone: the connections drop.
    await cluster.redis.kill();
    await until(() => states.at(-1) === 'disconnected', 'disconnected after a kill', 3000);
    await sleep(100);
    await cluster.redis.start();
    await until(() => states.at(-1) === 'connected', 'connected after a restart', 5000);

    await node.close();
    expect(states).toEqual(['disconnected', 'connected', 'disconnected', 'connected', 'closed']);
    expect(backplane.status().state).toBe('closed');
  });
});
