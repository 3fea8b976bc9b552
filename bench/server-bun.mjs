// One comparison server on Bun.serve in its own Bun process: `bun server-bun.mjs <kind>`, forked by run.mjs
// (Bun speaks Node's fork() IPC), with the same calls as server.mjs.
import { readFileSync } from 'node:fs';
import { serve } from './lib/ipc.mjs';

const kind = process.argv[2];
const { start } = await import(`./servers/${kind}.mjs`);
const port = start();

serve({
  port: () => port,
  cpu: () => {
    // Read and write syscall counts (Linux): how well each server batches.
    const io = Object.fromEntries(
      readFileSync('/proc/self/io', 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(': ')),
    );
    return { ...process.cpuUsage(), reads: Number(io.syscr), writes: Number(io.syscw) };
  },
  mem: async () => {
    // Two full, synchronous collections with a turn of the loop between them, as server.mjs does on Node.
    Bun.gc(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    Bun.gc(true);
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heap: heapUsed };
  },
});
