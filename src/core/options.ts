import type { Backplane } from '../cluster/backplane.js';
import { InvalidOptionError } from './errors.js';
import type { UpgradeRequest } from './transport.js';

/** What the `authenticate` hook sees of a login. */
export interface AuthenticateContext {
  /** The name the connection asks for (already checked against the name rules). */
  readonly name: string;
  /** The whole login message as the client sent it (extra fields such as a token included). */
  readonly message: Readonly<Record<string, unknown>>;
  /** The HTTP upgrade request of the connection, when the transport had one. */
  readonly request: UpgradeRequest | undefined;
  /** The peer's address, when the transport knows it. */
  readonly remoteAddress: string | undefined;
}

/** Per-connection message rate limit (a token bucket). */
export interface RateLimitOptions {
  /** Sustained messages per second. */
  messagesPerSecond: number;
  /** Messages that may arrive at once before the sustained rate applies. */
  burst: number;
}

/** Options of {@link SignallingHub}. Every one is optional. */
export interface HubOptions {
  /**
   * Decides whether a login may proceed. Return (or resolve) `false` to refuse
   * it with reason `unauthorized`; any other value accepts it, and an object
   * becomes the peer's `data`. A throw or rejection refuses the login and is
   * reported through the hub's `error` event.
   * @default undefined (every valid login is accepted)
   */
  authenticate?: (context: AuthenticateContext) => unknown;
  /**
   * An extra rule for names, applied after the built-in one (non-empty, at
   * most `maxNameLength`, no control characters). Return `false` to refuse.
   * @default undefined
   */
  validateName?: (name: string) => boolean;
  /**
   * Longest name, in UTF-16 code units.
   * @default 128
   */
  maxNameLength?: number;
  /**
   * Largest message a client may send, in bytes. The `ws` adapter uses it as
   * `maxPayload` (larger frames close the connection with 1009); other
   * transports get an `error` reply. A full SDP offer is 5–20 KB.
   * @default 65536
   */
  maxMessageBytes?: number;
  /**
   * Per-connection rate limit, or `false` for none. Over the limit a message
   * is dropped with a `rate-limited` error; a client that keeps sending for a
   * further `burst` messages is closed with 4429.
   * @default { messagesPerSecond: 1000, burst: 2000 }
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * Bytes that may be queued to a connection that does not read before it is
   * closed with 4507, when the transport reports `bufferedAmount`.
   * @default 1048576
   */
  maxBufferedBytes?: number;
  /**
   * Milliseconds a connection may stay without a successful login before it
   * is closed with 4408. `0` disables the timeout.
   * @default 30000
   */
  loginTimeout?: number;
  /**
   * Messages kept, in order, while a login is being decided (by an async
   * `authenticate` or the backplane); more are answered with `login-pending`.
   * @default 64
   */
  maxPendingMessages?: number;
  /**
   * Calls per peer whose other side is told `leave` when the peer goes. A
   * peer may talk to more names; calls past this number are not tracked.
   * @default 256
   */
  maxCallsPerPeer?: number;
  /**
   * Carries names and messages between hub processes (e.g. the Redis one
   * from `signalling-hub/redis`). Without it the hub is a single node.
   * @default undefined
   */
  backplane?: Backplane;
}

/** Options with every default filled in. */
export interface ResolvedHubOptions {
  authenticate: HubOptions['authenticate'];
  validateName: HubOptions['validateName'];
  maxNameLength: number;
  maxMessageBytes: number;
  rateLimit: RateLimitOptions | false;
  maxBufferedBytes: number;
  loginTimeout: number;
  maxPendingMessages: number;
  maxCallsPerPeer: number;
  backplane: Backplane | undefined;
}

function positive(option: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionError(option, `expected a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`);
  }
  return value;
}

function hookOrUndefined<T>(option: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(option, 'expected a function');
  }
  return value;
}

/** Fills in defaults and throws {@link InvalidOptionError} on a value that cannot work. */
export function resolveHubOptions(options: HubOptions = {}): ResolvedHubOptions {
  const rate = options.rateLimit;
  return {
    authenticate: hookOrUndefined('authenticate', options.authenticate),
    validateName: hookOrUndefined('validateName', options.validateName),
    maxNameLength: positive('maxNameLength', options.maxNameLength, 128),
    maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, 65536),
    rateLimit:
      rate === false
        ? false
        : {
            messagesPerSecond: positive('rateLimit.messagesPerSecond', rate?.messagesPerSecond, 1000),
            burst: positive('rateLimit.burst', rate?.burst, 2000),
          },
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes, 1048576),
    loginTimeout: positive('loginTimeout', options.loginTimeout, 30000, true),
    maxPendingMessages: positive('maxPendingMessages', options.maxPendingMessages, 64, true),
    maxCallsPerPeer: positive('maxCallsPerPeer', options.maxCallsPerPeer, 256, true),
    backplane: options.backplane,
  };
}
