import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WebSocket } from 'ws';

/**
 * The ws versions the fast path was tested against. It reaches into ws's
 * private `_receiver` (the frame reader) and `_socket` (corked writes), which
 * ws's maintainers change in minor releases; outside this range the adapter
 * keeps to ws's public API.
 */
export const FAST_PATH_WS_VERSIONS = '>=8.21 <9';

/** The environment variable that turns the fast path off when set to `0`. */
export const FAST_PATH_ENV = 'SIGNALLING_HUB_FAST_PATH';

let cachedVersion: string | null | undefined;

/**
 * The version of the `ws` package this module imports (`undefined` if it
 * cannot be told), read once. Found through Node's module cache: ws is
 * CommonJS, so whether this module is the ESM or the CommonJS build, the
 * file that exports ws's `WebSocket` class is in `require.cache`, and its
 * package's `package.json` says the version. (`import.meta.url` would not
 * do: the CommonJS build cannot contain it.)
 */
export function installedWsVersion(): string | undefined {
  if (cachedVersion === undefined) {
    try {
      cachedVersion = versionOf(wsFile()) ?? null;
    } catch {
      cachedVersion = null;
    }
  }
  return cachedVersion ?? undefined;
}

function wsFile(): string | undefined {
  const cache = createRequire(join(process.cwd(), 'index.js')).cache;
  for (const [file, module] of Object.entries(cache)) if (module?.exports === WebSocket) return file;
  return undefined;
}

/** The version in the `package.json` of the `ws` package holding `file`. */
function versionOf(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let directory = dirname(file);
  for (let depth = 0; depth < 4; depth++) {
    let manifest: { name?: unknown; version?: unknown } | undefined;
    try {
      manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    } catch {
      // No package.json here (ws's lib/): look one level up.
    }
    if (manifest !== undefined)
      return manifest.name === 'ws' && typeof manifest.version === 'string' ? manifest.version : undefined;
    directory = dirname(directory);
  }
  return undefined;
}

/** Whether `version` is in {@link FAST_PATH_WS_VERSIONS}. Pre-releases count as their release. */
export function fastPathSupports(version: string | undefined): boolean {
  const match = version === undefined ? null : /^(\d+)\.(\d+)\.\d+/.exec(version);
  if (match === null) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major === 8 && minor >= 21;
}

/** Whether the environment turns the fast path off (`SIGNALLING_HUB_FAST_PATH=0`). */
export function fastPathDisabledByEnv(): boolean {
  return typeof process !== 'undefined' && process.env[FAST_PATH_ENV] === '0';
}
