// Shared by the bench sections: sleeping, medians, and the CPU of a process that is not Node (redis-server).
import { readFileSync } from 'node:fs';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** CPU seconds of a process, from /proc (utime + stime, in USER_HZ: 100 on Linux). */
export function procCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Server CPU in µs (user + system) of the servers of one measurement, summed; each server's too. */
export async function serversCpu(servers) {
  const all = await Promise.all(servers.map((s) => s.call('cpu')));
  const each = all.map((c) => c.user + c.system);
  // Syscall counts where the server reports them (Node on Linux).
  const writes = all.reduce((n, c) => n + (c.writes ?? NaN), 0);
  const reads = all.reduce((n, c) => n + (c.reads ?? NaN), 0);
  return { total: each.reduce((n, c) => n + c, 0), each, reads, writes, eachWrites: all.map((c) => c.writes) };
}
