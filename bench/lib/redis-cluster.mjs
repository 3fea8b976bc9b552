// A throwaway Redis Cluster for the bench (three masters, no replicas, persistence off) and the
// measurement of two and three hub nodes on it. Admin commands go through redis-cli.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const isFree = (port) =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A port P with P and its cluster bus port P + 10000 free. */
async function portPair(taken) {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if ([port, port + 10_000, port - 10_000].some((p) => taken.has(p))) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
}

const cli = async (port, ...args) => (await run('redis-cli', ['-p', String(port), ...args])).stdout;

/** CPU seconds of a process, from /proc. */
const cpuOf = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** Starts three masters joined as one cluster; undefined when redis-server or redis-cli is missing or fails. */
export async function startRedisCluster(masters = 3) {
  const taken = new Set();
  const nodes = [];
  const stop = () => {
    for (const node of nodes) {
      node.child.kill('SIGKILL');
      rmSync(node.dir, { recursive: true, force: true });
    }
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await portPair(taken);
      const dir = mkdtempSync(join(tmpdir(), 'bench-rcluster-'));
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, 'nodes.conf'),
        ].concat(['--save', '', '--appendonly', 'no', '--dir', dir]),
        { stdio: 'ignore' },
      );
      child.on('error', () => {});
      nodes.push({ port, dir, child });
    }
    for (const { port } of nodes) {
      for (let i = 0; !(await cli(port, 'PING').catch(() => '')).includes('PONG'); i++) {
        if (i > 200) throw new Error(`redis-server on ${port} did not start`);
        await sleep(25);
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes']);
    for (let i = 0; ; i++) {
      const infos = await Promise.all(nodes.map((n) => cli(n.port, 'CLUSTER', 'INFO')));
      if (infos.every((info) => info.includes('cluster_state:ok'))) break;
      if (i > 400) throw new Error('the Redis Cluster did not settle');
      await sleep(25);
    }
    return {
      urls: nodes.map((n) => `redis://127.0.0.1:${n.port}`),
      cpu: () => nodes.reduce((s, n) => s + cpuOf(n.child.pid), 0),
      stop,
    };
  } catch (error) {
    stop();
    console.log(`Redis Cluster skipped: ${error.message}`);
    return undefined;
  }
}

/**
 * Two and three hub nodes (`hub-redis-cluster`) on a fresh 3-master Redis Cluster: every a<i> on the
 * first node, every b<i> on the others, so every relay crosses the cluster. `measureRelay`,
 * `startServer`, `load` and `config` are run.mjs's. Returns { two, three } (one result per round;
 * Redis CPU summed over the masters) or undefined when no cluster could be started.
 */
export async function measureRedisCluster({ startServer, load, measureRelay, config }) {
  const cluster = await startRedisCluster();
  if (cluster === undefined) return undefined;
  process.env.BENCH_REDIS_CLUSTER_URLS = cluster.urls.join(',');
  const results = { two: [], three: [] };
  try {
    for (let round = 1; round <= config.redisRounds; round++) {
      for (const [key, count] of [
        ['two', 2],
        ['three', 3],
      ]) {
        const nodes = [];
        // A fresh prefix (so a fresh slot) per measurement: names of the last one may still be held.
        process.env.BENCH_REDIS_CLUSTER_PREFIX = `bench-${round}-${key}:`;
        try {
          for (let i = 0; i < count; i++) nodes.push(await startServer('hub-redis-cluster'));
          const portB = nodes.slice(1).map((n) => n.port);
          // The load speaks to them as to hub-redis nodes (the same protocol).
          await load.call('connectPairs', { kind: 'hub-redis', port: nodes[0].port, portB, pairs: config.pairs });
          const redis0 = cluster.cpu();
          const result = await measureRelay(nodes, 'hub-redis');
          // Over warm-up and measurement (measureRelay times only the latter): Redis CPU per message, roughly.
          result.redisCpuPerMsg = ((cluster.cpu() - redis0) * 1e6) / ((result.rate * (config.measureMs + config.warmMs)) / 1000);
          results[key].push(result);
          console.log(
            `redis cluster ${round} ${count} hubs ${Math.round(result.rate)} msg/s, p50 ${result.p50.toFixed(2)} p99 ${result.p99.toFixed(2)} ms,` +
              ` ${result.cpuPerMsg.toFixed(2)} µs hub CPU + ≈ ${result.redisCpuPerMsg.toFixed(2)} µs Redis CPU per msg`,
          );
        } finally {
          await load.call('close');
          await Promise.all(nodes.map((n) => n.stop()));
        }
      }
    }
  } finally {
    cluster.stop();
  }
  return results;
}
