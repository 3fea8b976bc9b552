// What an idle logged-in peer keeps in the heap, deterministically (unlike RSS): `node bench/heap-probe.mjs
// <hub-bun|floor-bun|hub> [peers]` (default 5000; build first, it serves dist/). The server runs in its own
// process (Bun, or Node with --expose-gc), this one logs the peers in; after two full collections before and
// after, it prints heap and RSS per peer and, on Bun, JSC's live objects per peer by type.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { bunBinary } from './lib/bun.mjs';
import { SETTLE_MS } from './lib/ipc.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const [kind = 'hub-bun', count = '5000'] = process.argv.slice(2).filter((arg) => arg !== '--child');

if (process.argv.includes('--child')) await child(kind);
else await probe(kind, Number(count));

/** The server side: serves `kind`, answers `snap` on stdin with the heap after two full collections. */
async function child(kind) {
  let port;
  if (kind === 'hub') {
    const server = http.createServer();
    (await import('./servers/hub.mjs')).start(server);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = server.address().port;
  } else {
    port = (await import(`./servers/${kind}.mjs`)).start();
  }
  const collect = async () => {
    const gc = typeof Bun === 'undefined' ? globalThis.gc : () => Bun.gc(true);
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
    // As the bench's servers do (see SETTLE_MS).
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    gc();
  };
  console.log(JSON.stringify({ port }));
  createInterface({ input: process.stdin }).on('line', async () => {
    await collect();
    const { rss, heapUsed } = process.memoryUsage();
    if (typeof Bun === 'undefined') return console.log(JSON.stringify({ rss, heap: heapUsed }));
    const { heapStats } = await import('bun:jsc');
    const stats = heapStats();
    console.log(JSON.stringify({ rss, heap: stats.heapSize, objects: stats.objectCount, types: stats.objectTypeCounts }));
  });
}

async function probe(kind, count) {
  const onBun = kind.endsWith('-bun');
  const bun = onBun ? bunBinary() : undefined;
  if (onBun && bun === undefined) throw new Error('no bun binary: install the bun dev dependency');
  const self = fileURLToPath(import.meta.url);
  const server = onBun
    ? spawn(bun, [self, kind, '--child'], { stdio: ['pipe', 'pipe', 'inherit'], cwd: here })
    : spawn(process.execPath, ['--expose-gc', self, kind, '--child'], { stdio: ['pipe', 'pipe', 'inherit'], cwd: here });
  const waiting = [];
  createInterface({ input: server.stdout }).on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const snap = () => {
    const reply = next();
    server.stdin.write('snap\n');
    return reply;
  };
  const { port } = await next();
  await snap();
  const before = await snap();
  const floor = kind.startsWith('floor');
  const sockets = [];
  let n = 0;
  const connect = (name) =>
    new Promise((resolve, reject) => {
      const url = floor ? `ws://127.0.0.1:${port}/?p=${name}` : `ws://127.0.0.1:${port}/`;
      // Several client addresses, as the bench's idle peers come from.
      const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: `127.0.0.${2 + (n++ % 16)}` });
      ws.on('error', reject);
      ws.once('open', () => {
        if (floor) return resolve(ws);
        ws.send(`{"type":"login","name":${JSON.stringify(name)}}`);
        ws.once('message', (data) => (String(data).includes('"success":true') ? resolve(ws) : reject(new Error(String(data)))));
      });
    });
  for (let i = 0; i < count; i += 200) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + 200); k++) batch.push(connect(`i${k}`));
    sockets.push(...(await Promise.all(batch)));
  }
  const after = await snap();
  const per = (a, b) => ((a - b) / count).toFixed(1);
  console.log(
    `${kind}, ${count} idle peers: heap ${per(after.heap, before.heap)} B/peer, RSS ${per(after.rss, before.rss)} B/peer` +
      (after.objects === undefined ? '' : `, ${per(after.objects, before.objects)} objects/peer`),
  );
  for (const type of Object.keys(after.types ?? {})) {
    const perPeer = ((after.types[type] ?? 0) - (before.types[type] ?? 0)) / count;
    if (Math.abs(perPeer) >= 0.05) console.log(`  ${type.padEnd(24)} ${perPeer.toFixed(2)}`);
  }
  for (const ws of sockets) ws.terminate();
  server.stdin.end();
  server.kill();
}
