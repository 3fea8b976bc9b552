import { type Check, func, integer, resolveOptions } from '../../core/option-check.js';
import { MAX_TIMER_MS } from '../../core/options.js';
import { type ConnectionRateOptions, connectionRateCheck } from '../shared/address-caps.js';
import { type TrustProxy, trustProxyCheck } from '../shared/client-address.js';
import { originsCheck, pathCheck } from '../shared/option-checks.js';

/** Decides from the `Origin` header (absent for non-browser clients) whether an upgrade may proceed. */
export type BunOriginCheck = (origin: string | undefined, request: Request) => boolean;

/** Options of {@link createBunHandler}. Every one is optional; unknown keys are refused. */
export interface BunHandlerOptions {
  /**
   * The URL path this hub answers upgrades on, matched exactly against the
   * request's path (query string ignored, nothing decoded or normalised).
   * Starts with `/`; no `?`, `#`, spaces or control characters.
   * @default '/'
   */
  path?: string;
  /**
   * Browser origins allowed to connect: a list of exact `Origin` values as
   * browsers send them (`https://app.example`: lower case, no path or
   * trailing slash), or a function that returns `true` to let a request in.
   * Others get `403 Forbidden`. A list lets requests without an `Origin`
   * header (non-browser clients) in. A function that throws answers `500`
   * and is reported on the hub's `error` event.
   * @default undefined (every origin)
   */
  origins?: readonly string[] | BunOriginCheck;
  /**
   * Decides, before the WebSocket handshake, whether an upgrade may proceed
   * (cookies, a token in the query string…). Resolve `true`, or an object
   * (the user it found: it reaches the hub's `authenticate` as `upgrade`),
   * to let it in; `false` answers `401 Unauthorized`; a throw answers `500`
   * and is reported on the hub's `error` event.
   * @default undefined
   */
  verifyUpgrade?: (request: Request) => unknown;
  /**
   * Which proxies in front of the server are trusted to say who the client
   * is (`X-Forwarded-For`, read right to left), as `attach()`'s.
   * @default undefined (no proxy is trusted)
   */
  trustProxy?: TrustProxy;
  /**
   * Connections open at once from one client address; past it, `429`. `0`: no cap.
   * @default 0
   */
  maxConnectionsPerAddress?: number;
  /**
   * New connections one client address may open per second (`{ perSecond, burst }`); past it, `429`.
   * @default false
   */
  connectionRate?: ConnectionRateOptions | false;
  /**
   * Milliseconds between WebSocket pings; a socket that has not answered the
   * previous ping is terminated (the hub hears 1006). `0` disables the heartbeat.
   * @default 30000
   */
  heartbeatInterval?: number;
  /**
   * Largest message accepted, in bytes (64 to 2^30); a larger one closes the
   * connection with 1009. Bun applies it to every WebSocket of the server
   * the handler's `websocket` is given to.
   * @default the hub's `maxMessageBytes`
   */
  maxPayload?: number;
  /**
   * Milliseconds `close()` waits for connections to close before it
   * terminates them. Bun reports a connection closed as soon as it has sent
   * the close frame, so this bounds a wait that is usually none.
   * @default 2000
   */
  closeTimeout?: number;
}

/** The options of {@link createBunHandler} in force, defaults filled in. */
export interface ResolvedBunHandlerOptions {
  readonly path: string;
  readonly origins: readonly string[] | BunOriginCheck | undefined;
  readonly verifyUpgrade: BunHandlerOptions['verifyUpgrade'];
  readonly trustProxy: TrustProxy | undefined;
  readonly maxConnectionsPerAddress: number;
  readonly connectionRate: Readonly<ConnectionRateOptions> | false;
  readonly heartbeatInterval: number;
  /** `undefined`: the hub's `maxMessageBytes`. */
  readonly maxPayload: number | undefined;
  readonly closeTimeout: number;
}

/** The defaults of {@link createBunHandler}'s options (those of `attach()` where they share a name). */
export const bunHandlerDefaults: ResolvedBunHandlerOptions = Object.freeze({
  path: '/',
  origins: undefined,
  verifyUpgrade: undefined,
  trustProxy: undefined,
  maxConnectionsPerAddress: 0,
  connectionRate: false,
  heartbeatInterval: 30000,
  maxPayload: undefined,
  closeTimeout: 2000,
});

const checks: { readonly [K in keyof ResolvedBunHandlerOptions]-?: Check<ResolvedBunHandlerOptions[K]> } = {
  path: pathCheck,
  origins: originsCheck<BunOriginCheck>(),
  verifyUpgrade: func(),
  trustProxy: trustProxyCheck,
  maxConnectionsPerAddress: integer(0),
  connectionRate: connectionRateCheck,
  heartbeatInterval: integer(0, MAX_TIMER_MS),
  maxPayload: integer(64, 2 ** 30),
  closeTimeout: integer(0, MAX_TIMER_MS),
};

/** Fills in defaults; throws {@link InvalidOptionError} for an unknown option or a value that cannot work. */
export function resolveBunHandlerOptions(options: unknown): ResolvedBunHandlerOptions {
  return Object.freeze(resolveOptions<ResolvedBunHandlerOptions>('createBunHandler()', options, bunHandlerDefaults, checks));
}
