#!/usr/bin/env node
// The soak (test/fuzz/soak.ts): connect → login → offer → close, half clean and half abrupt, over
// real ws connections on loopback, against one hub or two hubs through a real redis-server.
//
//   npm run soak                                  100,000 cycles on one hub, then 20,000 across two nodes
//   npm run soak -- --cycles 3000 --nodes 1       one run
//   add --json for one JSON line per run (the CI test reads it)
//
// Exits 1 when something is left behind (peers, connections, sockets, timers, Redis keys), an offer
// or a leave was lost, or the heap after GC grew by more than 5 %. Latency is reported, not judged.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

if (typeof globalThis.gc !== 'function') {
  // The heap is measured after a full GC: run again with --expose-gc.
  const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const { loadHarness, versions } = await import('./fuzz-bundle.mjs');
const { values } = parseArgs({ options: { cycles: { type: 'string' }, nodes: { type: 'string' }, json: { type: 'boolean' } } });
const runs =
  values.cycles !== undefined || values.nodes !== undefined
    ? [{ cycles: Number(values.cycles ?? 100_000), nodes: Number(values.nodes ?? 1) }]
    : [
        { cycles: 100_000, nodes: 1 },
        { cycles: 20_000, nodes: 2 },
      ];
const { runSoak } = await loadHarness('test/fuzz/soak.ts');
if (!values.json) console.log(`soak: ${await versions()}`);
let failed = false;
for (const { cycles, nodes } of runs) {
  const result = await runSoak({
    cycles,
    nodes,
    onProgress: values.json ? undefined : (done, ms) => console.log(`  ${done} cycles, ${(ms / 1000).toFixed(0)} s`),
  });
  const problems = [];
  if (result.peersLeft !== 0 || result.connectionsLeft !== 0) problems.push('peers or connections left');
  if (result.offersDelivered !== cycles || result.leavesDelivered !== cycles) problems.push('offers or leaves lost');
  if (JSON.stringify(result.steadyResources.start) !== JSON.stringify(result.steadyResources.end))
    problems.push('timers or sockets left');
  if (JSON.stringify(result.resourcesBefore) !== JSON.stringify(result.resourcesAfter))
    problems.push('resources left after shutdown');
  if (result.redisKeysLeft !== 0) problems.push('Redis keys left');
  if (result.heapRatio > 1.05) problems.push(`heap grew ${((result.heapRatio - 1) * 100).toFixed(1)} %`);
  if (values.json) console.log(JSON.stringify({ ...result, problems }));
  else {
    console.log(JSON.stringify(result, null, 1));
    console.log(
      problems.length === 0
        ? `${cycles} cycles on ${nodes} node(s): nothing left, heap ${((result.heapRatio - 1) * 100).toFixed(1)} %`
        : `problems: ${problems.join('; ')}`,
    );
  }
  if (problems.length > 0) failed = true;
}
if (failed) process.exitCode = 1;
