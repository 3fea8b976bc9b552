// Request/response over the fork() IPC channel, shared by the runner, the servers and the load generators.
import { fork } from 'node:child_process';

const children = new Set();

/** Forks `script` (with `execPath`: another runtime, Bun) and returns `call(cmd, arg)` → Promise of the child's answer. */
export function spawnChild(script, args = [], execArgv = [], execPath = process.execPath) {
  const child = fork(script, args, { execArgv, execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  let nextId = 1;
  const waiting = new Map();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.on('message', (m) => {
    const w = waiting.get(m.id);
    if (w === undefined) return;
    waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.result);
  });
  child.once('exit', (code, signal) => {
    children.delete(child);
    for (const w of waiting.values()) w.reject(new Error(`${script} ${args.join(' ')} exited (${code ?? signal})`));
    waiting.clear();
  });
  return {
    pid: child.pid,
    call(cmd, arg) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        child.send({ id, cmd, arg });
      });
    },
    /** Disconnecting lets the child exit cleanly (so --cpu-prof is written); SIGKILL after 3 s. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.disconnect();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Adds a child started elsewhere (redis-server) to those killed on exit. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Kills every child still running (on exit, error or Ctrl-C). */
export function killChildren() {
  for (const child of children) child.kill('SIGKILL');
}

/** Child side: answers the parent's calls with `handlers[cmd](arg)`; exits with the parent. */
export function serve(handlers) {
  process.on('message', async ({ id, cmd, arg }) => {
    try {
      process.send({ id, result: await handlers[cmd](arg) });
    } catch (error) {
      process.send({ id, error: String(error?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Cork a net.Socket until the end of the tick so frames written in one tick leave in one writev. */
const corked = [];
function uncorkAll() {
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}
export function coalesce(socket) {
  if (socket.writableCorked !== 0) return;
  socket.cork();
  if (corked.push(socket) === 1) process.nextTick(uncorkAll);
}

/**
 * Quiet time before a server's last collection when its memory is read: measured on Bun, the hub's RSS
 * per idle peer read 50 ms after two collections moved between 2.67 and 3.08 KB from run to run of the same
 * code, and 2 s after them held at 2.48–2.52 KB (the allocator gives the logins' freed pages back meanwhile).
 */
export const SETTLE_MS = 2000;
