// Shared by the fuzz and soak scripts: bundles one TypeScript harness from test/fuzz/ (which imports
// the sources in src/, not dist/) with tsup, into a private directory under node_modules/ so that
// ws, redis and fast-check resolve, and imports it. The directory is removed when the process exits.
import { mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'tsup';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles `entry` (a path from the repository root) and returns its module. */
export async function loadHarness(entry) {
  const name = basename(entry).replace(/\.ts$/, '');
  const outDir = join(root, 'node_modules/.cache/signalling-hub-fuzz', `${name}-${process.pid}`);
  mkdirSync(outDir, { recursive: true });
  process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
  await build({
    entry: { [name]: join(root, entry) },
    outDir,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    silent: true,
    config: false,
    splitting: false,
    clean: true,
    external: ['ws', 'redis', 'eventemitter3', 'fast-check'],
  });
  return import(pathToFileURL(join(outDir, `${name}.js`)).href);
}

/** Parses `--name value` options; every value is an integer (seeds, counts). */
export function integerOptions(names) {
  const { values } = parseArgs({ options: Object.fromEntries(names.map((n) => [n, { type: 'string' }])), strict: true });
  const out = {};
  for (const [key, value] of Object.entries(values)) {
    const number = Number(String(value).replace(/_/g, ''));
    if (!Number.isInteger(number)) throw new Error(`--${key} must be an integer, got ${value}`);
    out[key] = number;
  }
  return out;
}

/** One line with the versions a run used, for docs/RELIABILITY.md. */
export async function versions() {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const pkg = require('../package.json');
  const ws = require('ws/package.json').version;
  let redis = '';
  try {
    const { execFileSync } = await import('node:child_process');
    redis =
      execFileSync('redis-server', ['--version'])
        .toString()
        .match(/v=(\S+)/)?.[1] ?? '';
  } catch {
    redis = 'not installed';
  }
  return `signalling-hub ${pkg.version}, Node ${process.versions.node}, ws ${ws}, redis-server ${redis}, ${new Date().toISOString()}`;
}
