// A hub for the rooms section as one node of a cluster through Redis (BENCH_ROOMS_REDIS_URL): room size up to 128.
import { SignallingHub } from '../../dist/index.js';
import { RedisBackplane } from '../../dist/redis.js';
import { attach } from '../../dist/ws.js';

export async function start(server) {
  const hub = new SignallingHub({
    maxRoomMembers: 128,
    backplane: new RedisBackplane({ url: process.env.BENCH_ROOMS_REDIS_URL }),
  });
  hub.on('error', (error) => console.error('hub error', error));
  await hub.ready;
  attach(hub, server);
}
