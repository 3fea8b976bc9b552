import type { Backplane } from '../core/backplane.js';
import { RedisBackplane } from '../cluster/redis/redis-backplane.js';
import type { SignallingHub } from '../core/hub.js';
import { shown } from './redis-urls.js';

export { shown };

/** How long the CLI waits for Redis at start before giving up with a clear message. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The one line the CLI prints when `--redis` is given and the `redis` package cannot be loaded. */
export const REDIS_MISSING =
  '--redis needs the redis package, which is not installed next to signalling-hub: ' +
  'run `npx -p signalling-hub -p redis signalling-hub --redis URL`, or `npm install redis` where signalling-hub is installed';

/**
 * Loads `redis` (an optional peer dependency) up front, so that a missing
 * package is one clear line instead of an import failure later.
 */
export async function checkRedisPackage(): Promise<void> {
  try {
    await import('redis');
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /'redis'/.test(message ?? '')) {
      throw new Error(REDIS_MISSING, { cause: error });
    }
    throw error;
  }
}

/**
 * The backplane `--redis` (or `--redis-cluster`) asks for, if any: `hub.ready`
 * rejects once Redis was not reached in time.
 */
export function cliBackplane(
  url: string | undefined,
  clusterUrls?: readonly string[],
  links?: { readonly links: string; readonly linksAdvertise: string | undefined },
): Backplane | undefined {
  const common = { startTimeout: CONNECT_TIMEOUT_MS, ...links };
  if (clusterUrls !== undefined) return new RedisBackplane({ clusterUrls, ...common });
  return url === undefined ? undefined : new RedisBackplane({ url, ...common });
}

/**
 * Waits until the hub's backplane is connected, so that "listening" means
 * "in the cluster". A Redis that cannot be reached fails the start (the hub
 * is closed) instead of serving a node that cannot claim any name.
 */
export async function joinCluster(hub: SignallingHub, url: string | undefined): Promise<void> {
  if (url === undefined) return;
  let last: Error | undefined;
  const remember = (error: Error) => (last = error);
  hub.on('error', remember);
  try {
    // The backplane's own startTimeout (CONNECT_TIMEOUT_MS) ends the wait.
    await hub.ready;
  } catch (error) {
    await hub.close();
    // The backplane's last error says more than the timeout.
    const reason = last ?? (error as Error);
    throw new Error(`cannot join the cluster through Redis at ${shown(url)}: ${reason.message || reason.name}`, { cause: error });
  } finally {
    hub.off('error', remember);
  }
}
