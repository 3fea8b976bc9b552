import type { IncomingMessage } from 'node:http';
import { type Check, boolean, func, integer, resolveOptions } from '../core/option-check.js';
import { type ConnectionRateOptions, connectionRateCheck } from './shared/address-caps.js';
import { type TrustProxy, trustProxyCheck } from './shared/client-address.js';
import { originsCheck, pathCheck } from './shared/option-checks.js';
import { MAX_TIMER_MS } from '../core/options.js';
import { type HttpFallbackOptions, httpFallbackOption, type ResolvedHttpFallbackOptions } from './http/options.js';

/** Decides from the `Origin` header (absent for non-browser clients) whether an upgrade may proceed. */
export type OriginCheck = (origin: string | undefined, request: IncomingMessage) => boolean;

/**
 * Options of {@link attach}. Every one is optional; unknown keys are refused.
 * `U` is what `verifyUpgrade` resolves for an admitted request (it reaches
 * the hub's `authenticate` as `upgrade`: give the hub the same `U`).
 */
export interface AttachOptions<U = unknown> {
  /**
   * The URL path this hub answers upgrades on, matched exactly against the
   * request's path (query string ignored, nothing decoded or normalised).
   * Starts with `/`; no `?`, `#`, spaces or control characters.
   * @default '/'
   */
  path?: string;
  /**
   * Browser origins allowed to connect: a list of exact `Origin` values as
   * browsers send them (`https://app.example`, `http://localhost:8080`: lower
   * case, no path or trailing slash), or a function that returns `true` to
   * let a request in. Others get `403 Forbidden` before the upgrade. A list
   * lets requests without an `Origin` header (non-browser clients) in. A
   * function that throws answers `500` and is reported on the hub's `error` event.
   * @default undefined (every origin)
   */
  origins?: readonly string[] | OriginCheck;
  /**
   * Decides, before the WebSocket handshake, whether an upgrade may proceed
   * (cookies, a token in the query string…). Resolve `true`, or an object
   * (the user it found: it reaches the hub's `authenticate` as `upgrade`),
   * to let it in; `false` answers `401 Unauthorized`; a throw answers `500`
   * and is reported on the hub's `error` event.
   * @default undefined
   */
  verifyUpgrade?: (request: IncomingMessage) => boolean | U | Promise<boolean | U>;
  /**
   * Which proxies in front of the server are trusted to say who the client
   * is: exact addresses and CIDR ranges (`['127.0.0.1', '10.0.0.0/8']`), or
   * a function given a hop's address. When the socket's peer is trusted, the
   * client's address is the nearest untrusted hop of `X-Forwarded-For`, read
   * right to left; it is the one per-address caps count and `peer.remoteAddress` shows.
   * Without it, the header is ignored (anyone can write it).
   * @default undefined (no proxy is trusted)
   */
  trustProxy?: TrustProxy;
  /**
   * Connections that may be open at once from one client address (over
   * WebSocket and the HTTP fallback together); a handshake past it is
   * answered `429 Too Many Requests`. `0`: no cap. Off by default: without
   * `trustProxy`, every client behind a proxy shares the proxy's address.
   * @default 0
   */
  maxConnectionsPerAddress?: number;
  /**
   * New connections one client address may open per second (a token
   * bucket: `burst` at once, then `perSecond`); past it, a handshake (or an
   * HTTP fallback session) is answered `429`. `false`: no limit. Off by
   * default for the same reason as `maxConnectionsPerAddress`.
   * @default false
   */
  connectionRate?: ConnectionRateOptions | false;
  /**
   * Milliseconds between WebSocket pings; a socket that has not answered the
   * previous ping is terminated. `0` disables the heartbeat.
   * @default 30000
   */
  heartbeatInterval?: number;
  /**
   * Largest frame accepted, in bytes (64 to 2^30); larger frames close the socket with 1009.
   * @default the hub's `maxMessageBytes`
   */
  maxPayload?: number;
  /**
   * Milliseconds `close()` waits for clients to answer the 1001 close before
   * it terminates them.
   * @default 2000
   */
  closeTimeout?: number;
  /**
   * Upgrades to a path no hub on the server serves. With no other `upgrade`
   * listener on the server nobody else can answer them, so they get `404` at
   * once. With other listeners (the host's own WebSocket endpoints,
   * socket.io) they are left to those; a socket still open after this many
   * milliseconds that nobody has written a byte to is answered `404` and
   * destroyed, so stray upgrades cannot pile up open sockets (engine.io does
   * the same with its `destroyUpgradeTimeout`). A listener that takes longer
   * before its first byte needs a larger value, or `0`: never. Hubs sharing
   * a server share this: the largest value of theirs applies, `0` if any says `0`.
   * @default 5000
   */
  unhandledUpgradeTimeout?: number;
  /**
   * Whether the adapter may use its fast path: it reads plain text frames
   * itself and writes pre-framed, corked buffers, through private parts of
   * `ws`. It engages only with the ws versions it was tested against
   * (`>=8.21 <9`); with others the adapter keeps to ws's public API and says
   * so once on the hub's `warning` event. The environment variable
   * `SIGNALLING_HUB_FAST_PATH=0` also turns it off. {@link Attachment.fastPath}
   * tells whether it engaged.
   * @default true
   */
  fastPath?: boolean;
  /**
   * The HTTP fallback on the same path, for clients whose WebSocket cannot
   * get through (a proxy that forwards no `Upgrade` header, a firewall that
   * blocks WebSockets): sessions over plain HTTP requests to `path` whose
   * query string has `transport=http` (Server-Sent Events or long-polling
   * down, POSTs up; see PROTOCOL.md, "HTTP fallback"), with the same
   * `origins`, `verifyUpgrade` (given the request that creates the session),
   * hub limits and close codes. Only requests with `transport=http` are
   * taken; every other request to the path still reaches the host's own
   * `request` listeners. `false` turns it off; an object sets its options
   * ({@link HttpFallbackOptions}).
   * @default true (on, with `httpFallbackDefaults`)
   */
  httpFallback?: boolean | HttpFallbackOptions;
}

/** The options of {@link attach} in force, defaults filled in. */
export interface ResolvedAttachOptions {
  readonly path: string;
  readonly origins: readonly string[] | OriginCheck | undefined;
  readonly verifyUpgrade: ((request: IncomingMessage) => unknown) | undefined;
  readonly trustProxy: TrustProxy | undefined;
  readonly maxConnectionsPerAddress: number;
  readonly connectionRate: Readonly<ConnectionRateOptions> | false;
  readonly heartbeatInterval: number;
  /** `undefined`: the hub's `maxMessageBytes`. */
  readonly maxPayload: number | undefined;
  readonly closeTimeout: number;
  readonly unhandledUpgradeTimeout: number;
  readonly fastPath: boolean;
  /** `false`: off; `undefined`: on, with `httpFallbackDefaults`. */
  readonly httpFallback: ResolvedHttpFallbackOptions | false | undefined;
}

/** The defaults of {@link attach}'s options. */
export const attachDefaults: ResolvedAttachOptions = Object.freeze({
  path: '/',
  origins: undefined,
  verifyUpgrade: undefined,
  trustProxy: undefined,
  maxConnectionsPerAddress: 0,
  connectionRate: false,
  heartbeatInterval: 30000,
  maxPayload: undefined,
  closeTimeout: 2000,
  unhandledUpgradeTimeout: 5000,
  fastPath: true,
  httpFallback: undefined,
});

const attachChecks: { readonly [K in keyof ResolvedAttachOptions]-?: Check<ResolvedAttachOptions[K]> } = {
  path: pathCheck,
  origins: originsCheck<OriginCheck>(),
  verifyUpgrade: func(),
  trustProxy: trustProxyCheck,
  maxConnectionsPerAddress: integer(0),
  connectionRate: connectionRateCheck,
  heartbeatInterval: integer(0, MAX_TIMER_MS),
  // ws reads 0 as "no limit": never that.
  maxPayload: integer(64, 2 ** 30),
  closeTimeout: integer(0, MAX_TIMER_MS),
  unhandledUpgradeTimeout: integer(0, MAX_TIMER_MS),
  fastPath: boolean,
  httpFallback: httpFallbackOption,
};

/** Fills in defaults; throws {@link InvalidOptionError} for an unknown option or a value that cannot work. */
export function resolveAttachOptions(options: unknown): ResolvedAttachOptions {
  return Object.freeze(resolveOptions<ResolvedAttachOptions>('attach()', options, attachDefaults, attachChecks));
}
