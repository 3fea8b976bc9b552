import { InvalidOptionError } from '../../core/errors.js';
import { type Check, boolean, describeValue, func, integer, resolveOptions, string } from '../../core/option-check.js';
import { MAX_TIMER_MS } from '../../core/options.js';

/**
 * Options of the PeerJS dialect ({@link peerjsPort}, {@link attachPeerjs}).
 * The snake_case ones mean what peerjs-server's options of the same name mean.
 * Every one is optional; unknown keys are refused.
 */
export interface PeerjsOptions {
  /**
   * The API key clients give (`new Peer(id, { key })`); connections and HTTP
   * requests with another key are refused.
   * @default 'peerjs'
   */
  key?: string;
  /**
   * The path clients give (`new Peer(id, { path })`). As the client does, a
   * leading and a trailing `/` are added: the WebSocket is served at
   * `{path}peerjs`, the HTTP routes at `{path}` and `{path}{key}/…`.
   * @default '/'
   */
  path?: string;
  /**
   * Milliseconds a connection may stay silent (the client sends `HEARTBEAT`
   * every 5 s) before it is closed. `0` disables the check.
   * @default 60000
   */
  alive_timeout?: number;
  /**
   * Milliseconds a message to an id that is not connected waits for it; then
   * it is dropped and its sender gets one `EXPIRE` per (sender, target).
   * @default 5000
   */
  expire_timeout?: number;
  /**
   * Milliseconds between passes over the queued messages: expired ones are
   * dropped, and those whose target connected on another node are sent.
   * @default 1000
   */
  cleanup_out_msgs?: number;
  /**
   * PeerJS connections one node takes; more get `ERROR` "Server has reached
   * its concurrent user limit".
   * @default 5000
   */
  concurrent_limit?: number;
  /**
   * Whether `GET {path}{key}/peers` lists the ids online (401 when off): on
   * every node of the cluster with a backplane, at most 10,000 (the first in
   * code-unit order).
   * @default false
   */
  allow_discovery?: boolean;
  /**
   * Makes the id `GET {path}{key}/id` hands out (must match PeerJS's id rule).
   * @default undefined (a random UUID)
   */
  generateClientId?: () => string;
  /**
   * Messages queued for one id that is not connected; past it, a message is
   * dropped and its sender gets `EXPIRE` at once.
   * @default 64
   */
  maxQueuedPerPeer?: number;
  /**
   * Bytes queued for one id that is not connected; past it, as `maxQueuedPerPeer`.
   * @default 262144
   */
  maxQueuedBytesPerPeer?: number;
  /**
   * Bytes queued on this node for every id together; past it, as `maxQueuedPerPeer`.
   * @default 16777216
   */
  maxQueuedBytes?: number;
}

/** {@link PeerjsOptions} with every default filled in. */
export interface ResolvedPeerjsOptions {
  readonly key: string;
  /** With a leading and a trailing `/`. */
  readonly path: string;
  readonly alive_timeout: number;
  readonly expire_timeout: number;
  readonly cleanup_out_msgs: number;
  readonly concurrent_limit: number;
  readonly allow_discovery: boolean;
  readonly generateClientId: (() => string) | undefined;
  readonly maxQueuedPerPeer: number;
  readonly maxQueuedBytesPerPeer: number;
  readonly maxQueuedBytes: number;
}

/** The defaults of {@link PeerjsOptions}. */
export const peerjsDefaults: ResolvedPeerjsOptions = Object.freeze({
  key: 'peerjs',
  path: '/',
  alive_timeout: 60000,
  expire_timeout: 5000,
  cleanup_out_msgs: 1000,
  concurrent_limit: 5000,
  allow_discovery: false,
  generateClientId: undefined,
  maxQueuedPerPeer: 64,
  maxQueuedBytesPerPeer: 262144,
  maxQueuedBytes: 16777216,
});

const pathCheck: Check<string> = (value, option) => {
  const path = string('a URL path without "?", "#", spaces or control characters', /^[^?#\s\p{Cc}]*$/u)(value, option);
  const withLead = path.startsWith('/') ? path : `/${path}`;
  return withLead.endsWith('/') ? withLead : `${withLead}/`;
};

const peerjsChecks: { readonly [K in keyof ResolvedPeerjsOptions]-?: Check<ResolvedPeerjsOptions[K]> } = {
  // The key sits in a URL path and in internal names: keep it to URL-safe characters without ':'.
  key: string('1 to 64 letters, digits, "_", "-" or "."', /^[A-Za-z0-9_.-]{1,64}$/),
  path: pathCheck,
  alive_timeout: integer(0, MAX_TIMER_MS),
  expire_timeout: integer(1, MAX_TIMER_MS),
  cleanup_out_msgs: integer(10, MAX_TIMER_MS),
  concurrent_limit: integer(1),
  allow_discovery: boolean,
  generateClientId: func(),
  maxQueuedPerPeer: integer(0),
  maxQueuedBytesPerPeer: integer(0),
  maxQueuedBytes: integer(0),
};

/** Fills in defaults; throws {@link InvalidOptionError} for an unknown option or a value that cannot work. */
export function resolvePeerjsOptions(options: unknown): ResolvedPeerjsOptions {
  const resolved = resolveOptions<ResolvedPeerjsOptions>('the PeerJS dialect', options, peerjsDefaults, peerjsChecks);
  if (resolved.path.includes('//')) throw new InvalidOptionError('path', 'a path without "//"', describeValue(resolved.path));
  return Object.freeze(resolved);
}
