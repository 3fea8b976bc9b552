import { InvalidOptionError } from '../../core/errors.js';
import { type Check, describeValue, integer, resolveOptions } from '../../core/option-check.js';
import { MAX_TIMER_MS } from '../../core/options.js';

/**
 * Options of the HTTP fallback that `attach()` serves next to the WebSocket
 * endpoint (its `httpFallback` option). Every one is optional; unknown keys
 * are refused. The wire binding is specified in PROTOCOL.md, "HTTP fallback".
 */
export interface HttpFallbackOptions {
  /**
   * Milliseconds a session may go without a request from its client (a
   * waiting long-poll counts as one in progress; a client with an open stream
   * pings at a third of this) before it is closed as lost: the hub sees 1006,
   * as for a WebSocket that missed its heartbeat.
   * @default 60000
   */
  sessionTimeout?: number;
  /**
   * Milliseconds a long-poll waits for frames before it is answered with an
   * empty array. Keep it under the idle timeout of proxies on the way
   * (nginx: `proxy_read_timeout`, 60 s by default).
   * @default 25000
   */
  pollTimeout?: number;
  /**
   * Sessions open at once on this path; a request to create one more is
   * answered `503` with `Retry-After`.
   * @default 10000
   */
  maxSessions?: number;
  /**
   * Largest request body, in bytes (a POST of frames). A larger one is
   * answered `413` and closes the session with 1009, as a WebSocket frame
   * over `maxPayload` does. A frame over the hub's `maxMessageBytes` inside a
   * body that fits is answered with a `message-too-large` error.
   * @default 2 × maxPayload + 4096 (room for the JSON escaping of a frame of the largest size)
   */
  maxBodyBytes?: number;
  /**
   * POSTs that may arrive ahead of a missing earlier one (by `seq`) and wait
   * for it; one further ahead is answered `409`. Their bodies together are
   * bounded by `maxBodyBytes` times this (for a session that has not
   * logged in yet, by `maxPayload`: about what a WebSocket that has not
   * logged in buffers).
   * @default 16
   */
  reorderWindow?: number;
  /**
   * Bytes of POST bodies waiting for an earlier one (see `reorderWindow`),
   * all sessions on this path together. A POST that would pass it is
   * answered `503` with `Retry-After: 1` (the client sends it again).
   * @default 33554432 (32 MiB)
   */
  maxHeldBytes?: number;
  /**
   * Sessions that have not logged in yet, per TCP connection: one more
   * evicts the oldest of them (its hub connection closes with 1013, its
   * later requests get `404`). A session stops counting once it logs in
   * (or once it is forgotten). One keep-alive connection so cannot fill
   * `maxSessions` for everyone else.
   * @default 16
   */
  maxPendingSessionsPerConnection?: number;
  /**
   * Sessions that have not logged in yet, per remote address (behind a
   * proxy every client has the proxy's address: raise it there), evicted
   * as for `maxPendingSessionsPerConnection`.
   * @default 256
   */
  maxPendingSessionsPerAddress?: number;
}

/** The options of the HTTP fallback in force, defaults filled in. */
export interface ResolvedHttpFallbackOptions {
  readonly sessionTimeout: number;
  readonly pollTimeout: number;
  readonly maxSessions: number;
  /** `undefined`: 2 × maxPayload + 4096. */
  readonly maxBodyBytes: number | undefined;
  readonly reorderWindow: number;
  readonly maxHeldBytes: number;
  readonly maxPendingSessionsPerConnection: number;
  readonly maxPendingSessionsPerAddress: number;
}

/** The defaults of the HTTP fallback's options. */
export const httpFallbackDefaults: ResolvedHttpFallbackOptions = Object.freeze({
  sessionTimeout: 60000,
  pollTimeout: 25000,
  maxSessions: 10000,
  maxBodyBytes: undefined,
  reorderWindow: 16,
  maxHeldBytes: 32 * 1024 * 1024,
  maxPendingSessionsPerConnection: 16,
  maxPendingSessionsPerAddress: 256,
});

const httpFallbackChecks: { readonly [K in keyof ResolvedHttpFallbackOptions]-?: Check<ResolvedHttpFallbackOptions[K]> } = {
  // Under 100 ms a session could not survive one round trip.
  sessionTimeout: integer(100, MAX_TIMER_MS),
  pollTimeout: integer(10, MAX_TIMER_MS),
  maxSessions: integer(1),
  maxBodyBytes: integer(1024, 2 ** 30),
  reorderWindow: integer(1, 1024),
  maxHeldBytes: integer(0),
  maxPendingSessionsPerConnection: integer(1),
  maxPendingSessionsPerAddress: integer(1),
};

/** `true`, `false` or an options object, as `attach()`'s `httpFallback` takes it. */
export const httpFallbackOption: Check<ResolvedHttpFallbackOptions | false> = (value, option) => {
  if (value === false) return false;
  if (value === true) return httpFallbackDefaults;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(option, 'true, false or an object of HTTP fallback options', describeValue(value));
  }
  return Object.freeze(
    resolveOptions<ResolvedHttpFallbackOptions>(
      'attach() httpFallback',
      value,
      httpFallbackDefaults,
      httpFallbackChecks,
      `${option}.`,
    ),
  );
};
