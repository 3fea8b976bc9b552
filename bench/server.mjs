// One comparison server in its own process: `node --expose-gc server.mjs <kind>`.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { SETTLE_MS, serve } from './lib/ipc.mjs';

const kind = process.argv[2];
const { start } = await import(`./servers/${kind}.mjs`);
const server = http.createServer();
await start(server);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

serve({
  port: () => server.address().port,
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
    // Two full collections with a turn of the loop between them, so weak refs and finalizers settle; then,
    // after a quiet SETTLE_MS, a third: RSS right after a collection still holds pages the allocator has not
    // given back yet, which measures the logins' garbage rather than what an idle peer holds.
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    globalThis.gc();
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heap: heapUsed };
  },
});
