import { BackplaneError } from '../../core/errors.js';
import { messageOf } from '../cluster-backplane.js';
import type { RedisClientLike } from './client.js';

/** A connection of the backplane's two: commands (and PUBLISH), and the subscription to its node's channel. */
export type ConnectionRole = 'command' | 'subscriber';

/** Creates the command connection from `url` (`redis` is loaded only now, so importing the backplane does not need it). */
export async function createRedisClient(url: string, reconnectMaxDelay: number): Promise<RedisClientLike> {
  const { createClient } = await import('redis');
  return createClient({
    url,
    // Commands fail at once while Redis is away instead of piling up and
    // being replayed late (socket.io-redis-adapter users lose packets
    // either way; we would rather say so at once).
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, reconnectMaxDelay) },
  });
}

/** What {@link watchConnection} tells the backplane. */
export interface ConnectionWatcher {
  /** Whether the backplane is closed (errors after that are not news). */
  closed(): boolean;
  /** The connection went up or down. */
  changed(role: ConnectionRole, up: boolean): void;
  /** A failure worth reporting. */
  report(error: BackplaneError): void;
  /** The connection is ready again. */
  ready(): void;
}

/**
 * Tracks a connection's state from its events and reports its errors once
 * per outage (node-redis emits one per reconnection attempt). Returns what
 * removes the listeners, unless `keep` (a client of the backplane's own keeps
 * one: node-redis throws on an unhandled 'error').
 */
export function watchConnection(
  client: RedisClientLike,
  role: ConnectionRole,
  watcher: ConnectionWatcher,
  keep: boolean,
): () => void {
  let down = false;
  const error = (cause: unknown) => {
    if (watcher.closed()) return;
    // Some errors (a reply that could not be parsed) leave the connection up.
    const up = client.isReady;
    watcher.changed(role, up);
    if (down) return;
    down = !up;
    watcher.report(new BackplaneError(`The Redis ${role} connection failed: ${messageOf(cause)}`, cause));
  };
  const lost = () => watcher.changed(role, false);
  const ready = () => {
    down = false;
    watcher.changed(role, true);
    watcher.ready();
  };
  client.on('error', error);
  client.on('ready', ready);
  client.on('reconnecting', lost);
  client.on('end', lost);
  return () => {
    if (keep) return;
    client.off('error', error);
    client.off('ready', ready);
    client.off('reconnecting', lost);
    client.off('end', lost);
  };
}

/**
 * Races `joining` against `timeout` ms: past it, rejects with a
 * `BackplaneError` naming the last connection failure (`where`: the Redis
 * it tried, fit for a message).
 */
export async function withinStartTimeout(
  joining: Promise<void>,
  clients: ReadonlyArray<Pick<RedisClientLike, 'on' | 'off'>>,
  timeout: number,
  where: string,
): Promise<void> {
  let lastFailure: unknown;
  const failed = (cause: unknown) => (lastFailure = cause);
  for (const client of clients) client.on('error', failed);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const why = lastFailure === undefined ? 'no answer' : `last failure: ${messageOf(lastFailure)}`;
      reject(
        new BackplaneError(
          `Could not join the cluster: Redis${where} was not reached within startTimeout (${timeout} ms; ${why})`,
          lastFailure,
        ),
      );
    }, timeout);
  });
  // Once timed out, the join is cut short by close(); its own failure is not news.
  joining.catch(() => {});
  try {
    await Promise.race([joining, timedOut]);
  } finally {
    clearTimeout(timer);
    for (const client of clients) client.off('error', failed);
  }
}

/** A Redis URL fit for an error message: no password. */
export function shownUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
