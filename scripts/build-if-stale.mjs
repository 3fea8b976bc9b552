#!/usr/bin/env node
// Builds dist/ (`npm run build`, its output shown only if it fails) when it is
// missing or older than the sources; otherwise does nothing. `npm start` and
// the `example:*` scripts run it, so that they print no build noise.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['src', 'package.json', 'tsup.config.ts', 'tsconfig.json'];
const outputs = ['dist/cli.js', 'dist/index.js', 'dist/index.cjs', 'dist/ws.js', 'dist/demo/index.html', 'dist/demo/demo.js'];

function newestSource() {
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const path of sources) if (existsSync(join(root, path))) visit(join(root, path));
  return newest;
}

/** Whether dist/ is missing a file or is older than a source file. */
export function distIsStale() {
  const files = outputs.map((path) => join(root, path));
  if (!files.every((path) => existsSync(path))) return true;
  return newestSource() > Math.min(...files.map((path) => statSync(path).mtimeMs));
}

/** Builds when dist/ is stale; on a failed build prints its output and exits 1. */
export function buildIfStale() {
  if (!distIsStale()) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) {
    process.stderr.write(`${build.stdout}${build.stderr}signalling-hub: the build failed (npm run build)\n`);
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) buildIfStale();
