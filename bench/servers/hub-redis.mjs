// One node of a two-hub cluster joined through Redis (BENCH_REDIS_URL), default options otherwise.
import { SignallingHub } from '../../dist/index.js';
import { RedisBackplane } from '../../dist/redis.js';
import { attach } from '../../dist/ws.js';

export async function start(server) {
  const hub = new SignallingHub({ backplane: new RedisBackplane({ url: process.env.BENCH_REDIS_URL }) });
  hub.on('error', (error) => console.error('hub error', error));
  await hub.ready;
  attach(hub, server);
}
