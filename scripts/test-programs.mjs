#!/usr/bin/env node
// `npm test` runs this before it builds or starts any suite: it makes sure the
// system programs the tests start are installed. As root with apt-get it
// installs what is missing from Debian's packages; otherwise (or with
// SIGNALLING_HUB_TEST_NO_INSTALL=1) it stops at once with one line naming what
// is missing and the command that installs it. `.ci/run` relies on it too.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The programs the tests start, one line each: the command looked up on PATH,
 * the Debian package that provides it and, when a test uses a fixed path, that path.
 */
export const testPrograms = [
  { command: 'redis-server', debianPackage: 'redis-server' },
  { command: 'chromium', debianPackage: 'chromium', path: '/usr/bin/chromium' },
  { command: 'turnserver', debianPackage: 'coturn' },
  { command: 'nginx', debianPackage: 'nginx', path: '/usr/sbin/nginx' },
];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `command`'s full path on `PATH`, or undefined. */
export function onPath(command, path = process.env.PATH ?? '') {
  for (const directory of path.split(delimiter)) {
    if (directory !== '' && executable(join(directory, command))) return join(directory, command);
  }
  return undefined;
}

/** The entries of `programs` that are not installed. */
export function missingPrograms(programs = testPrograms, path = process.env.PATH ?? '') {
  return programs.filter(
    (program) => onPath(program.command, path) === undefined || (program.path !== undefined && !existsSync(program.path)),
  );
}

const isRoot = () => process.getuid?.() === 0;

/** The one line that says what is missing and how to install it. */
export function missingLine(missing, root = isRoot()) {
  const names = missing.map((program) => program.command).join(', ');
  const packages = missing.map((program) => program.debianPackage).join(' ');
  return `signalling-hub tests: missing ${names}; install with: ${root ? '' : 'sudo '}apt-get install -y ${packages}`;
}

function run(command, args) {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

/**
 * Installs what is missing when it may (root, apt-get on PATH, no
 * SIGNALLING_HUB_TEST_NO_INSTALL), and returns what is still missing.
 */
export function ensureTestPrograms({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  let missing = missingPrograms();
  if (missing.length === 0) return missing;
  const mayInstall = isRoot() && onPath('apt-get') !== undefined && !process.env.SIGNALLING_HUB_TEST_NO_INSTALL;
  if (!mayInstall) return missing;
  const packages = missing.map((program) => program.debianPackage);
  log(`signalling-hub tests: installing ${packages.join(' ')} with apt-get`);
  if (run('apt-get', ['update', '-qq'])) run('apt-get', ['install', '-y', '-qq', ...packages]);
  missing = missingPrograms();
  return missing;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const missing = ensureTestPrograms();
  if (missing.length > 0) {
    process.stderr.write(`${missingLine(missing)}\n`);
    process.exit(1);
  }
}
