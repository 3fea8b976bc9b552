// A hub for the rooms row: room size up to 128; a node of a cluster through Redis when BENCH_REDIS_URL is set.
import { SignallingHub } from '../../dist/index.js';
import { attach } from '../../dist/ws.js';

export async function start(server) {
  const url = process.env.BENCH_REDIS_URL;
  const backplane = url === undefined ? undefined : new (await import('../../dist/redis.js')).RedisBackplane({ url });
  const hub = new SignallingHub({ maxRoomMembers: 128, backplane });
  hub.on('error', (error) => console.error('hub error', error));
  await hub.ready;
  attach(hub, server);
}
