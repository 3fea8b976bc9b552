import { InvalidOptionError } from '../common/errors.js';
import {
  type Check,
  boolean,
  describeValue,
  either,
  func,
  integer,
  nested,
  oneOf,
  positiveNumber,
  resolveOptions,
} from '../common/option-check.js';
import type { HttpSocketOptions } from './http-socket.js';
import type { CredentialsSource, WebSocketConstructor } from './types.js';

/** Longest timer browsers and Node can arm: 2^31 - 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The client's own pace for relays (a token bucket), so that it stays under the hub's rate limit. */
export interface SendRateOptions {
  /** Sustained relays per second. */
  messagesPerSecond: number;
  /** Relays that may go at once (e.g. the held ones right after a reconnection) before the sustained rate applies. */
  burst: number;
}

/** Options of {@link SignallingClient}. Every one is optional; unknown ones are refused. */
export interface SignallingClientOptions {
  /**
   * The WebSocket class. Pass `WebSocket` from the `ws` package on Node 20,
   * which has no global one.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor | undefined;
  /**
   * Connect and log in again under the same name (with the resume token)
   * when the connection is lost after a login, or a draining server closed it
   * (4503: after a random delay within `drainReconnectWindow`). With several
   * URLs, a failed one is followed by the next. The client does not reconnect
   * after `close()`, nor when the server kicked it (4403), another connection
   * took its name over (4409), it was rate-limited (4429) other than while
   * sending the relays it held, or an automatic login was refused for good
   * (`name-taken`, `unauthorized`, `invalid-name`).
   * @default true
   */
  reconnect?: boolean;
  /**
   * Log in as resumable (`"resume":true`): when the connection drops without
   * a goodbye, or a draining server closes it with 4503, the hub keeps the
   * name reserved for its `resumeGrace` (default 15 s), holds the relays sent
   * to it, and tells call partners nothing; the client's automatic login with
   * the token takes all of it back. `false` logs in the classic way: a drop
   * ends the session at once (partners hear `leave`), and the reconnection
   * takes the name over with the token (4409) if the hub still holds it.
   * @default true
   */
  resume?: boolean;
  /**
   * After a draining server's 4503 ("reconnect and resume elsewhere"), the
   * first reconnection waits a random delay in [0, this) milliseconds, so
   * that a drained node's clients spread over the others instead of
   * stampeding them (a whole number ≥ 0; keep it well under the hub's
   * `resumeGrace`). Later attempts back off as usual.
   * @default 5000
   */
  drainReconnectWindow?: number;
  /**
   * How to reach the hub. `'auto'`: WebSocket first; the hub's HTTP fallback
   * (`HttpSocket`: Server-Sent Events or long-polling, and POSTs) when the
   * upgrade fails while the hub answers over HTTP, the WebSocket does not
   * open within `fallbackTimeout`, or there is no WebSocket class at all;
   * once a login over HTTP succeeded, the client stays on HTTP. `'websocket'` or `'http'`: that one only. The
   * `transport` getter and event say which is in use.
   * @default 'auto'
   */
  transport?: 'auto' | 'websocket' | 'http';
  /**
   * With `transport: 'auto'`: milliseconds the WebSocket may take to open
   * before the client falls back to HTTP.
   * @default 4000
   */
  fallbackTimeout?: number;
  /**
   * Options of the HTTP fallback's socket (`transport` stream or poll,
   * `headers`, `credentials`, `fetch`…).
   * @default {}
   */
  http?: HttpSocketOptions;
  /**
   * Milliseconds before the first reconnection attempt (a whole number ≥ 1);
   * each further attempt doubles it, up to `maxReconnectDelay`. Each delay is
   * jittered between half and all of its value.
   * @default 500
   */
  reconnectDelay?: number;
  /**
   * Upper bound of the reconnection delay, in milliseconds.
   * @default 10000
   */
  maxReconnectDelay?: number;
  /**
   * Reconnection attempts in a row before the client gives up and closes (a
   * whole number ≥ 0, or `Infinity`).
   * @default Infinity
   */
  maxReconnectAttempts?: number;
  /**
   * Milliseconds to wait for the login reply, connecting included. A manual
   * `login()` then rejects with reason `timeout`; an automatic one drops the
   * connection and tries again.
   * @default 10000
   */
  loginTimeout?: number;
  /**
   * Source of randomness for the jitter, in [0, 1).
   * @default Math.random
   */
  random?: () => number;
  /**
   * Relays held at most: while reconnecting, and while `sendRate` makes them
   * wait. When a new one does not fit, held `candidate`s go first (oldest
   * first; they are the least useful once late), then the oldest relays; each
   * one dropped is reported by a `dropped` event.
   * @default 512
   */
  maxOutboxMessages?: number;
  /**
   * Bytes (UTF-8, as sent) of the relays held at most; see `maxOutboxMessages`.
   * A single relay larger than this is dropped at once.
   * @default 524288
   */
  maxOutboxBytes?: number;
  /**
   * The client's own pace for relays, well under the hub's default limit
   * (1000/s, bursts of 2000) so that sending the relays held during a
   * reconnection cannot get the connection closed with 4429. Lower it for a
   * hub with a lower `rateLimit`; `false` sends at once. Missing fields take
   * the defaults. Should the hub still close with 4429 while (or within 2 s
   * after) the client sends relays it held, the client reconnects, halves its
   * pace for the rest of the session and goes on with the relays not yet sent.
   * @default { messagesPerSecond: 100, burst: 200 }
   */
  sendRate?: Partial<SendRateOptions> | false;
  /**
   * Extra fields of every login message, e.g. `{ jwt }` for the host's
   * `authenticate`. `type`, `name`, `token` and `resume` are the client's and
   * are never overridden. The `credentials` callback's `login` fields go on
   * top of these.
   * @default {}
   */
  loginFields?: Readonly<Record<string, unknown>>;
  /**
   * Called before every connection (the first, each reconnection, each URL
   * tried) and before a login on a connection already open, for what the
   * hub should see now: `query` parameters added to the URL, `headers` of
   * the handshake (the `ws` package on Node and the HTTP fallback only:
   * browsers cannot set a WebSocket's headers) and `login` fields, so an
   * expired token is replaced rather than retried. After a refused
   * handshake (401, 403) or a login refused `unauthorized` or `forbidden`,
   * it is called once more (with the refusal in `refused`): the client tries
   * again with what it returns, or stops (the refusal is the error) when
   * that is identical to what was refused. Throwing (or rejecting) fails the
   * attempt with reason `credentials`.
   * @default undefined
   */
  credentials?: CredentialsSource | undefined;
  /**
   * Whether a login reply may name another name than the one asked for (a
   * hub whose `authenticate` assigns names, e.g. the user id): that name
   * becomes the client's. `false`: such a reply is a protocol error (the
   * connection is closed with 1002). A `login()` without a name always
   * takes the name the hub gives (`assignNames`).
   * @default false
   */
  acceptAssignedName?: boolean;
}

/** {@link SignallingClientOptions} with every default filled in. */
export interface ResolvedClientOptions {
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly reconnect: boolean;
  readonly resume: boolean;
  readonly drainReconnectWindow: number;
  readonly transport: 'auto' | 'websocket' | 'http';
  readonly fallbackTimeout: number;
  readonly http: HttpSocketOptions;
  readonly reconnectDelay: number;
  readonly maxReconnectDelay: number;
  readonly maxReconnectAttempts: number;
  readonly loginTimeout: number;
  readonly random: () => number;
  readonly maxOutboxMessages: number;
  readonly maxOutboxBytes: number;
  readonly sendRate: Readonly<SendRateOptions> | false;
  readonly loginFields: Readonly<Record<string, unknown>>;
  readonly credentials: CredentialsSource | undefined;
  readonly acceptAssignedName: boolean;
}

const sendRateDefaults: Readonly<SendRateOptions> = Object.freeze({ messagesPerSecond: 100, burst: 200 });

/**
 * The defaults of {@link SignallingClientOptions}, one object (each option is
 * documented there with its `@default`).
 */
export const clientDefaults: ResolvedClientOptions = Object.freeze({
  WebSocket: undefined,
  reconnect: true,
  resume: true,
  drainReconnectWindow: 5000,
  transport: 'auto',
  fallbackTimeout: 4000,
  http: Object.freeze({}),
  reconnectDelay: 500,
  maxReconnectDelay: 10000,
  maxReconnectAttempts: Infinity,
  loginTimeout: 10000,
  random: Math.random,
  maxOutboxMessages: 512,
  maxOutboxBytes: 524288,
  sendRate: sendRateDefaults,
  loginFields: Object.freeze({}),
  credentials: undefined,
  acceptAssignedName: false,
});

const delay = integer(1, MAX_TIMER_MS);

const clientChecks: { readonly [K in keyof ResolvedClientOptions]-?: Check<ResolvedClientOptions[K]> } = {
  WebSocket: func(),
  reconnect: boolean,
  resume: boolean,
  drainReconnectWindow: integer(0, MAX_TIMER_MS),
  transport: oneOf(['auto', 'websocket', 'http'] as const),
  fallbackTimeout: delay,
  http: plainObject('an object of HttpSocket options'),
  reconnectDelay: delay,
  maxReconnectDelay: delay,
  maxReconnectAttempts: either(
    (value) => value === Infinity,
    () => Infinity,
    integer(0),
  ),
  loginTimeout: delay,
  random: func(),
  maxOutboxMessages: integer(1),
  maxOutboxBytes: integer(1),
  sendRate: either(
    (value) => value === false,
    () => false as const,
    nested<SendRateOptions>('sendRate', sendRateDefaults, { messagesPerSecond: positiveNumber, burst: integer(1) }),
  ),
  loginFields: plainObject('an object of login fields'),
  credentials: func(),
  acceptAssignedName: boolean,
};

function plainObject<T extends object>(what: string): Check<T> {
  return (value, option) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidOptionError(option, what, describeValue(value));
    }
    return value as T;
  };
}

/** Fills in defaults; throws `InvalidOptionError` on an unknown option or a value that cannot work. */
export function resolveClientOptions(options: unknown): ResolvedClientOptions {
  return resolveOptions<ResolvedClientOptions>('SignallingClient', options, clientDefaults, clientChecks);
}
