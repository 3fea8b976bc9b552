// One node of a two-hub cluster joined through Redis (BENCH_REDIS_URL), relays between the nodes over node links
// (`links` on loopback), default options otherwise. Its own key prefix: the bench kills its nodes, and the names
// they held stay taken until their leases lapse, so the next row's nodes (another prefix) do not wait for that.
import { SignallingHub } from '../../dist/index.js';
import { RedisBackplane } from '../../dist/redis.js';
import { attach } from '../../dist/ws.js';

export async function start(server) {
  const hub = new SignallingHub({
    backplane: new RedisBackplane({ url: process.env.BENCH_REDIS_URL, keyPrefix: 'bench-links:', links: '127.0.0.1:0' }),
  });
  hub.on('error', (error) => console.error('hub error', error));
  await hub.ready;
  attach(hub, server);
}
