import type { Backplane } from '../core/backplane.js';
import { RedisBackplane } from '../cluster/redis/redis-backplane.js';
import type { SignallingHub } from '../core/hub.js';

/** How long the CLI waits for Redis at start before giving up with a clear message. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The backplane `--redis` asks for, if any. */
export function cliBackplane(url: string | undefined): Backplane | undefined {
  return url === undefined ? undefined : new RedisBackplane({ url });
}

/** A URL fit for an error message: no password. */
function shown(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      hub.ready,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), CONNECT_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    await hub.close();
    const cause = last ?? (error as Error);
    throw new Error(`cannot join the cluster through Redis at ${shown(url)}: ${cause.message || cause.name}`);
  } finally {
    clearTimeout(timer);
    hub.off('error', remember);
  }
}
