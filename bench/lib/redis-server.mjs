// A throwaway redis-server for the bench: persistence off, on a free loopback port, killed with the bench.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { track } from './ipc.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts one and waits until it accepts connections; undefined when `redis-server` is missing or never answers. */
export async function startRedisServer() {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const failed = await new Promise((resolve) => {
    child.once('error', () => resolve(true));
    child.once('spawn', () => resolve(false));
  });
  if (failed) return undefined;
  track(child);
  for (let attempt = 0; attempt < 50; attempt++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      socket.unref();
      setTimeout(() => socket.destroy(), 100);
    });
    if (up) return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill('SIGKILL') };
    await sleep(100);
  }
  child.kill('SIGKILL');
  return undefined;
}
