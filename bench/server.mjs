// One comparison server in its own process: `node --expose-gc server.mjs <kind>`.
import http from 'node:http';
import { serve } from './lib/ipc.mjs';

const kind = process.argv[2];
const { start } = await import(`./servers/${kind}.mjs`);
const server = http.createServer();
await start(server);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

serve({
  port: () => server.address().port,
  cpu: () => process.cpuUsage(),
  mem: async () => {
    // Two full collections with a turn of the loop between them, so weak refs and finalizers settle.
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    globalThis.gc();
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heap: heapUsed };
  },
});
