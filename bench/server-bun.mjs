// One comparison server on Bun.serve in its own Bun process: `bun server-bun.mjs <kind>`, forked by run.mjs
// (Bun speaks Node's fork() IPC), with the same calls as server.mjs.
import { SETTLE_MS, serve } from './lib/ipc.mjs';

const kind = process.argv[2];
const { start } = await import(`./servers/${kind}.mjs`);
const port = start();

serve({
  port: () => port,
  // No syscall counts: /proc/self/io counts read() and write(), and Bun's sockets use recv() and send(),
  // so its counts would read as zero; the table shows n/a instead.
  cpu: () => process.cpuUsage(),
  mem: async () => {
    // Two full, synchronous collections with a turn of the loop between them, a quiet SETTLE_MS and a third,
    // as server.mjs does on Node.
    Bun.gc(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    Bun.gc(true);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    Bun.gc(true);
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heap: heapUsed };
  },
});
