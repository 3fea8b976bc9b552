/**
 * Backpressure: a connection whose transport has more than `maxBufferedBytes`
 * queued is congested. Relays to it are dropped (their senders hear
 * `peer-congested`), so a fast sender never gets a slow reader disconnected;
 * only a queue that stays over the limit for `slowConsumerTimeout` closes the
 * connection (4507). Replies (login, errors) are always written.
 */

/** What a connection keeps for backpressure: one number, 0 while its queue is under the limit. */
export interface Congestible {
  /** When the queue was first seen over the limit (0: it is not). */
  congestedSince: number;
}

/** Whether a transport reporting `queued` bytes is over `limit` (a transport that cannot tell never is). */
export function overLimit(queued: number | undefined, limit: number): boolean {
  return queued !== undefined && queued > limit;
}

/**
 * The queue is over the limit now: starts the clock if it is not running and
 * tells whether it has run for `timeout` ms (the connection is then closed as
 * a slow consumer).
 */
export function stillCongested(connection: Congestible, timeout: number): boolean {
  const now = Date.now();
  if (connection.congestedSince === 0) connection.congestedSince = now;
  return now - connection.congestedSince >= timeout;
}
