// What Redis spends on a Lua script's argument, by its size, beside plain commands given the same bytes:
// `node bench/redis-script-args.mjs` (a throwaway `redis-server` on a free loopback port; Redis's own
// `usec_per_call` from INFO commandstats, so neither the network nor this process counts). The cross-node
// section of docs/BENCHMARKS.md quotes it: a batch of envelopes handed to a script costs Redis per byte.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { startRedisServer } from './lib/redis-server.mjs';

const redis = await startRedisServer();
if (redis === undefined) throw new Error('redis-server did not start');
const { port } = redis;
const cli = (...args) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
try {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  // Replies are read only for the PONG that ends each run: every command before it has been answered.
  let done;
  let tail = '';
  socket.on('data', (data) => {
    tail = (tail + data.toString('latin1')).slice(-7);
    if (tail === '+PONG\r\n') done();
  });
  const command = (args) => {
    const parts = [Buffer.from(`*${args.length}\r\n`)];
    for (const arg of args) {
      const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
    }
    return Buffer.concat(parts);
  };
  /** Redis's µs per call of `name` over `count` runs of `commands` (written back to back). */
  const measure = async (name, commands, count = 5000) => {
    cli('CONFIG', 'RESETSTAT');
    const bytes = Buffer.concat(commands.map(command));
    const finished = new Promise((resolve) => (done = resolve));
    for (let i = 0; i < count; i++) socket.write(bytes);
    socket.write('PING\r\n');
    await finished;
    const line = cli('INFO', 'commandstats')
      .split('\n')
      .find((l) => l.startsWith(`cmdstat_${name}:`));
    return Number(/usec_per_call=([\d.]+)/.exec(line)[1]);
  };
  const noop = cli('SCRIPT', 'LOAD', 'return 1');
  const publish = cli('SCRIPT', 'LOAD', "return redis.call('PUBLISH', KEYS[1], ARGV[1])");
  console.log('bytes | script given them, doing nothing | script publishing them | SET of them | PUBLISH of them (µs per call)');
  for (const size of [100, 1000, 4000, 16000, 64000]) {
    const batch = Buffer.alloc(size, 'x');
    const row = [
      await measure('evalsha', [['EVALSHA', noop, 0, batch]]),
      await measure('evalsha', [['EVALSHA', publish, 1, 'channel', batch]]),
      await measure('set', [['SET', 'key', batch]]),
      await measure('publish', [['PUBLISH', 'channel', batch]]),
    ];
    console.log(`${String(size).padStart(5)} | ${row.map((n) => n.toFixed(2).padStart(6)).join(' | ')}`);
  }
  socket.destroy();
} finally {
  redis.stop();
}
