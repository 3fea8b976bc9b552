// One node of a hub cluster joined through a Redis Cluster (BENCH_REDIS_CLUSTER_URLS, comma-separated seeds; BENCH_REDIS_CLUSTER_PREFIX), default options otherwise.
import { SignallingHub } from '../../dist/index.js';
import { RedisBackplane } from '../../dist/redis.js';
import { attach } from '../../dist/ws.js';

export async function start(server) {
  const clusterUrls = process.env.BENCH_REDIS_CLUSTER_URLS.split(',');
  const keyPrefix = process.env.BENCH_REDIS_CLUSTER_PREFIX;
  const hub = new SignallingHub({ backplane: new RedisBackplane({ clusterUrls, keyPrefix }) });
  hub.on('error', (error) => console.error('hub error', error));
  await hub.ready;
  attach(hub, server);
}
