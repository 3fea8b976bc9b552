import { backoffDelay } from './backoff.js';
import type { ResolvedClientOptions } from './options.js';
import { isFinal } from './session.js';
import type { ReconnectingEvent } from './types.js';

/**
 * The client's reconnect bookkeeping: the attempts since the session was last
 * back, whether a lost connection is tried again, and the timer of the next
 * attempt (after a drain, 4503, anywhere in `drainReconnectWindow`, else with
 * backoff).
 */
export class Reconnection {
  /** Attempts since the session was last back (counted afresh once the held relays are sent). */
  attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: ResolvedClientOptions) {}

  /**
   * Whether a session that means to stay online reconnects after close
   * `code` (`replayFlood`: a 4429 the client's own replay of held relays brought).
   */
  allows(code: number, replayFlood: boolean): boolean {
    return this.options.reconnect && (replayFlood || !isFinal(code)) && this.attempt < this.options.maxReconnectAttempts;
  }

  /** Schedules the next attempt: `announce` is told when, `fire` runs then. */
  schedule(drained: boolean, announce: (event: ReconnectingEvent) => void, fire: () => void): void {
    const attempt = ++this.attempt;
    const { reconnectDelay, maxReconnectDelay, random, drainReconnectWindow } = this.options;
    const delay = drained
      ? Math.floor(random() * drainReconnectWindow)
      : backoffDelay(attempt, reconnectDelay, maxReconnectDelay, random);
    announce({ attempt, delay });
    this.clear();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fire();
    }, delay);
  }

  /** Cancels a scheduled attempt. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
