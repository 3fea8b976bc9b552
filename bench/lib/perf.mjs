// `--perf`: on-CPU samples of the server processes over the measured full-load window of the cross-node
// section (`perf record -e cpu-clock`, the kernel's part included), and what each symbol costs per relayed
// message in two hubs through Redis against one hub. V8's `--cpu-prof` samples wall time: a hub preempted
// inside a syscall (four processes share two cores here) counts as busy in it, which made `writev` look like
// a third of a hub's time. This counts only the time each process ran. JavaScript is named through the
// servers' `--perf-basic-prof` maps, which `--perf` turns on.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { track } from './ipc.mjs';

/** Whether `perf` can be run here. */
export function perfAvailable() {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts sampling `pids` into `file`; `stop()` ends it and waits until the file is written. */
export function startPerf(pids, file) {
  mkdirSync(dirname(file), { recursive: true });
  const args = ['record', '-q', '-e', 'cpu-clock', '-F', '1999', '-g', '-o', file, '-p', pids.join(',')];
  const child = spawn('perf', args, { stdio: 'ignore' });
  track(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** Each symbol's share of the samples in `file`: JavaScript as `js name file:line`, the kernel's as `[kernel] name`. */
export function perfShares(file) {
  const report = execFileSync('perf', ['report', '-i', file, '--no-children', '--sort', 'sym', '--stdio', '-g', 'none'], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const shares = new Map();
  for (const line of report.split('\n')) {
    const match = /^\s*([\d.]+)%\s+\[(.)\]\s+(.*)$/.exec(line);
    if (match === null) continue;
    const [, percent, level, symbol] = match;
    const name =
      level === 'k'
        ? `[kernel] ${symbol.trim()}`
        : symbol
            .trim()
            .replace(/^JS:[*~^]?/, 'js ')
            .replace(/file:\/\/\/\S*\/dist\//, 'dist/')
            .replace(/\S*\/node_modules\//, '')
            .replace(/chunk-\w+\.js/, 'chunk');
    shares.set(name, (shares.get(name) ?? 0) + Number(percent) / 100);
  }
  return shares;
}

/** Which part of the process a symbol is: the kernel, JavaScript (JIT code), or the rest (V8's builtins and runtime, Node, libc). */
function partOf(name) {
  return name.startsWith('[kernel]') ? 'kernel' : name.startsWith('js ') ? 'JavaScript' : 'V8, Node, libc';
}

/**
 * µs per relayed message for each part and the symbols that differ most between `one` (one hub) and `two`
 * (two hubs through Redis): each share times the CPU per message the bench measured for that window.
 */
export function comparePerf(one, oneCpu, two, twoCpu, count = 30) {
  const names = new Set([...one.keys(), ...two.keys()]);
  const rows = [...names].map((name) => [name, (one.get(name) ?? 0) * oneCpu, (two.get(name) ?? 0) * twoCpu]);
  const parts = new Map();
  for (const [name, a, b] of rows) {
    const part = parts.get(partOf(name)) ?? [0, 0];
    parts.set(partOf(name), [part[0] + a, part[1] + b]);
  }
  const fmt = (n) => n.toFixed(3).padStart(7);
  const lines = ['µs per relayed message: one hub, two hubs through Redis, difference'];
  for (const [part, [a, b]] of parts) lines.push(`${fmt(a)} ${fmt(b)} ${fmt(b - a)}  ${part} (all)`);
  rows.sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1]));
  for (const [name, a, b] of rows.slice(0, count)) lines.push(`${fmt(a)} ${fmt(b)} ${fmt(b - a)}  ${name.slice(0, 110)}`);
  return lines.join('\n');
}
