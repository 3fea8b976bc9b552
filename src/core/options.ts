import type { Backplane } from './backplane.js';
import { type IceServerSource, type IceServersHook, type TurnOptions, turnSource } from './ice-servers.js';
import {
  type Check,
  either,
  func,
  integer,
  nested,
  positiveNumber,
  resolveOptions,
  withMethods,
  describeValue,
  boolean,
  oneOf,
} from './option-check.js';
import type { RelayType } from '../protocol/messages.js';
import type { Peer } from './peer.js';
import { InvalidOptionError } from './errors.js';
import type { AuthorizeJoinContext } from './rooms/room-events.js';
import type { UpgradeRequest } from './transport.js';

/**
 * What the `authenticate` hook sees of a login. `U` is what the transport's
 * `verifyUpgrade` resolved for the connection's request (e.g. the user it
 * found from a cookie), `true` when it resolved `true`.
 */
export interface AuthenticateContext<U = unknown> {
  /**
   * The name the connection asks for (already checked against the name
   * rules), or `''` when the login had no `name` (such a login reaches the
   * hook only when it may name the peer: return `{ name }`, or set `assignNames`).
   */
  readonly name: string;
  /** What `verifyUpgrade` resolved for this connection's request; `undefined` without one. */
  readonly upgrade: U | undefined;
  /** The whole login message as the client sent it (extra fields such as a token included). */
  readonly message: Readonly<Record<string, unknown>>;
  /** The HTTP upgrade request of the connection, when the transport had one. */
  readonly request: UpgradeRequest | undefined;
  /** The peer's address, when the transport knows it. */
  readonly remoteAddress: string | undefined;
}

/**
 * What `authenticate` may resolve: `false` refuses the login (reason
 * `unauthorized`); `true` (or `undefined`) accepts it under the name asked
 * for; `{ name?, data? }` accepts it under `name` (the host's choice, e.g. the
 * user id; the reply's `name` says which) with `data` as the peer's `data`.
 * An object with neither field is taken as `data` itself (the meaning before
 * `{ name, data }`).
 */
export type AuthenticateResult<D = unknown> = boolean | undefined | { readonly name?: string; readonly data?: D } | D;

/** What `authorizeRelay` sees of a relay. */
export interface RelayRequest<D = unknown> {
  /** The sending peer (logged in on this node). */
  readonly from: Peer<D>;
  /** The target's name (it may be held on another node, or nowhere). */
  readonly to: string;
  /** The relay's type. */
  readonly type: RelayType;
}

/**
 * What happens when a name is asked for (or assigned by `authenticate`) while
 * another connection holds it: `refuse` the new login (`name-taken`),
 * `replace` the holder (closed with 4409, its partners hear `leave`, on any
 * node), or `suffix`: the new login gets the name with `#2`, `#3`… appended
 * (the first free one; one user, several tabs).
 */
export type DuplicateNamePolicy = 'refuse' | 'replace' | 'suffix';

/** Per-connection message rate limit (a token bucket). */
export interface RateLimitOptions {
  /** Sustained messages per second. */
  messagesPerSecond: number;
  /** Messages that may arrive at once before the sustained rate applies. */
  burst: number;
}

/**
 * Options of {@link SignallingHub}. Every one is optional. `D` is the type
 * of `peer.data`, `U` what the transport's `verifyUpgrade` resolves.
 */
export interface HubOptions<D = unknown, U = unknown> {
  /**
   * Decides whether a login may proceed, and under which name (see
   * {@link AuthenticateResult}): resolve `false` to refuse it (reason
   * `unauthorized`), `true` to accept it, `{ name, data }` to accept it under
   * a name of the host's choosing with `data` for the peer. Throw a
   * `LoginRefusedError` to refuse it with a message the client reads. Any
   * other throw or rejection refuses it too and is reported on the hub's
   * `error` event.
   * @default undefined (every valid login is accepted)
   */
  authenticate?: (context: AuthenticateContext<U>) => AuthenticateResult<D> | Promise<AuthenticateResult<D>>;
  /**
   * A login without a `name` gets a fresh, unguessable name (a random UUID,
   * unique in the cluster) in its reply. Without it (and without an
   * `authenticate` hook that names it) such a login is refused with `invalid-name`.
   * @default false
   */
  assignNames?: boolean;
  /**
   * What happens when a login wants a name another connection holds (see
   * {@link DuplicateNamePolicy}). A login with the holder's resume token
   * always takes over, whatever the policy.
   * @default 'refuse'
   */
  duplicateNames?: DuplicateNamePolicy;
  /**
   * With `duplicateNames: 'suffix'`: names one user may hold at once
   * (`user`, `user#2` … `user#N`, cluster-wide: they are claimed like any
   * name). A login past it is refused with `name-taken` ("Too many
   * connections for <name>").
   * @default 16
   */
  maxConnectionsPerUser?: number;
  /**
   * Decides, synchronously, whether a logged-in peer may relay to a name
   * (offer, answer, candidate, leave). Return `false` to refuse: the sender
   * gets `{"type":"error","code":"forbidden","target":<name>}` and nothing
   * is relayed. A throw refuses too and is reported on `error`. Called on
   * every relay: keep it cheap (a set lookup).
   * @default undefined (every relay is allowed)
   */
  authorizeRelay?: (relay: RelayRequest<D>) => boolean;
  /**
   * How a relay refused by `authorizeRelay` is answered: `forbidden`, or
   * `not-found`, the same `peer-not-found` error as a relay to a name held
   * nowhere, so a sender learns nothing about who exists.
   * @default 'forbidden'
   */
  relayRefusal?: 'forbidden' | 'not-found';
  /**
   * An extra rule for names, applied after the built-in one (non-empty, at
   * most `maxNameLength`, no control characters). Return `false` to refuse.
   * @default undefined
   */
  validateName?: (name: string) => boolean;
  /**
   * Longest name, in UTF-16 code units (a whole number from 1 to 4096).
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
   * further `burst` messages is closed with 4429. An object must give both
   * fields.
   * @default { messagesPerSecond: 1000, burst: 2000 }
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * Bytes that may be queued to a connection, when the transport reports
   * `bufferedAmount`. Past it, relays to the connection are dropped and
   * their senders told `peer-congested`: a fast sender slows nobody down
   * and disconnects nobody.
   * @default 1048576
   */
  maxBufferedBytes?: number;
  /**
   * Milliseconds a connection's queue may stay above `maxBufferedBytes`
   * before it is closed with 4507 (it has stopped reading). A client that
   * reads, however slowly, drains its queue and is never closed for it.
   * @default 10000
   */
  slowConsumerTimeout?: number;
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
   * Bytes of messages kept while a login is being decided (each is copied
   * compactly); past it, messages are answered with `login-pending`.
   * @default 131072
   */
  maxPendingBytes?: number;
  /**
   * Calls per peer whose other side is told `leave` when the peer goes. A
   * peer may talk to more names; calls past this number are not tracked.
   * @default 256
   */
  maxCallsPerPeer?: number;
  /**
   * Milliseconds a resumable peer's name stays reserved after its connection
   * ended without a goodbye (no close frame, a heartbeat timeout, a drain):
   * its partners hear nothing, relays to it are parked, and a login with its
   * token and `"resume":true` takes it all back. A peer is resumable when its
   * login said `"resume":true`. `0` disables resumption.
   * @default 15000
   */
  resumeGrace?: number;
  /**
   * Relays parked per dropped peer; past it, senders get `peer-congested`.
   * @default 256
   */
  resumeMaxMessages?: number;
  /**
   * Bytes of relays parked per dropped peer; past it, senders get `peer-congested`.
   * @default 262144
   */
  resumeMaxBytes?: number;
  /**
   * TURN credentials issued by the hub (TURN REST API scheme, as coturn's
   * `use-auth-secret`): every successful login reply carries `iceServers`
   * with a credential valid for `ttl` seconds, and fresh ones are pushed as
   * `{"type":"ice-servers"}` at about 80% of it. The secret never leaves the
   * hub. Exclusive with `iceServers`.
   * @default undefined
   */
  turn?: TurnOptions;
  /**
   * ICE servers from any other provider (a hosted TURN API, STUN only): called
   * at each login (and every `iceServersRefreshInterval` ms while the peer is
   * connected); its result goes to the peer as `iceServers`. A throw or
   * rejection is reported on `error` and the peer gets no `iceServers`.
   * Exclusive with `turn`.
   * @default undefined
   */
  iceServers?: IceServersHook<D>;
  /**
   * With the `iceServers` hook: milliseconds between pushes of fresh servers
   * to each connected peer; `0` never refreshes.
   * @default 0
   */
  iceServersRefreshInterval?: number;
  /**
   * Decides whether a peer may join a room (a `join` message). Return (or
   * resolve) `false` to refuse it with reason `forbidden`; any other value
   * lets it in. A throw or rejection refuses it too and is reported through
   * the hub's `error` event. The host's own `hub.join()` is not asked.
   * @default undefined (every valid join is accepted)
   */
  authorizeJoin?: (context: AuthorizeJoinContext) => unknown;
  /**
   * Rooms a peer may be in at once; a join past it is refused with `too-many-rooms`.
   * @default 16
   */
  maxRoomsPerPeer?: number;
  /**
   * Members a room may have (cluster-wide); a join past it is refused with
   * `room-full`. A full mesh suits about 6–8 people; rooms larger than that
   * suit presence and chat rather than calls.
   * @default 64
   */
  maxRoomMembers?: number;
  /**
   * Names per page of the `peers` listing (`{"type":"peers","cursor":…}`),
   * which lets a client see who is online (on every node with a backplane; at most 10,000). `0` keeps it off:
   * the hub answers `unknown-type`, as to a hub without it.
   * @default 0
   */
  peerListPageSize?: number;
  /**
   * Carries names and messages between hub processes (e.g. the Redis one
   * from `signalling-hub/redis`). Without it the hub is a single node.
   * @default undefined
   */
  backplane?: Backplane;
}

/** Options with every default filled in. */
export interface ResolvedHubOptions {
  readonly authenticate: ((context: AuthenticateContext) => unknown) | undefined;
  readonly assignNames: boolean;
  readonly duplicateNames: DuplicateNamePolicy;
  readonly maxConnectionsPerUser: number;
  readonly authorizeRelay: ((relay: RelayRequest) => boolean) | undefined;
  readonly relayRefusal: 'forbidden' | 'not-found';
  readonly validateName: HubOptions['validateName'];
  readonly maxNameLength: number;
  readonly maxMessageBytes: number;
  readonly rateLimit: Readonly<RateLimitOptions> | false;
  readonly maxBufferedBytes: number;
  readonly slowConsumerTimeout: number;
  readonly loginTimeout: number;
  readonly maxPendingMessages: number;
  readonly maxPendingBytes: number;
  readonly maxCallsPerPeer: number;
  readonly resumeGrace: number;
  readonly resumeMaxMessages: number;
  readonly resumeMaxBytes: number;
  /** The `turn` option as a credential source: its secrets are sealed inside, never readable here. */
  readonly turn: IceServerSource | undefined;
  readonly iceServers: IceServersHook | undefined;
  readonly iceServersRefreshInterval: number;
  readonly backplane: Backplane | undefined;
  readonly authorizeJoin: HubOptions['authorizeJoin'];
  readonly maxRoomsPerPeer: number;
  readonly maxRoomMembers: number;
  readonly peerListPageSize: number;
}

/** Longest timer Node (and browsers) can arm: 2^31 - 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The hub's defaults, one object (as `ws` spreads its defaults over the options). */
export const hubDefaults: ResolvedHubOptions = Object.freeze({
  authenticate: undefined,
  assignNames: false,
  duplicateNames: 'refuse',
  maxConnectionsPerUser: 16,
  authorizeRelay: undefined,
  relayRefusal: 'forbidden',
  validateName: undefined,
  maxNameLength: 128,
  maxMessageBytes: 65536,
  rateLimit: Object.freeze({ messagesPerSecond: 1000, burst: 2000 }),
  maxBufferedBytes: 1048576,
  slowConsumerTimeout: 10000,
  loginTimeout: 30000,
  maxPendingMessages: 64,
  maxPendingBytes: 131072,
  maxCallsPerPeer: 256,
  resumeGrace: 15000,
  resumeMaxMessages: 256,
  resumeMaxBytes: 262144,
  turn: undefined,
  iceServers: undefined,
  iceServersRefreshInterval: 0,
  backplane: undefined,
  authorizeJoin: undefined,
  maxRoomsPerPeer: 16,
  maxRoomMembers: 64,
  peerListPageSize: 0,
});

const rateLimitCheck: Check<Readonly<RateLimitOptions> | false> = either(
  (value) => value === false,
  () => false as const,
  (value, option) => {
    if (typeof value !== 'object' || value === null) {
      throw new InvalidOptionError(option, 'false or { messagesPerSecond, burst }', describeValue(value));
    }
    const fields = value as Record<string, unknown>;
    for (const field of ['messagesPerSecond', 'burst']) {
      if (fields[field] === undefined) {
        throw new InvalidOptionError(`${option}.${field}`, 'a value (a rate limit object gives both fields)', 'undefined');
      }
    }
    return Object.freeze(
      nested<RateLimitOptions>(
        'rateLimit',
        { messagesPerSecond: 1000, burst: 2000 },
        { messagesPerSecond: positiveNumber, burst: integer(1) },
      )(value, option),
    );
  },
);

const hubChecks: { readonly [K in keyof ResolvedHubOptions]-?: Check<ResolvedHubOptions[K]> } = {
  authenticate: func(),
  assignNames: boolean,
  duplicateNames: oneOf<DuplicateNamePolicy>(['refuse', 'replace', 'suffix']),
  maxConnectionsPerUser: integer(1, 1024),
  authorizeRelay: func(),
  relayRefusal: oneOf<'forbidden' | 'not-found'>(['forbidden', 'not-found']),
  validateName: func(),
  maxNameLength: integer(1, 4096),
  // Room for a login message at least; at most what one WebSocket frame may reasonably carry.
  maxMessageBytes: integer(64, 2 ** 30),
  rateLimit: rateLimitCheck,
  maxBufferedBytes: integer(1024),
  slowConsumerTimeout: integer(0, MAX_TIMER_MS),
  loginTimeout: integer(0, MAX_TIMER_MS),
  maxPendingMessages: integer(0),
  maxPendingBytes: integer(0),
  maxCallsPerPeer: integer(0),
  resumeGrace: integer(0, MAX_TIMER_MS),
  resumeMaxMessages: integer(0),
  resumeMaxBytes: integer(0),
  turn: (value, option) => turnSource(value, option),
  iceServers: func(),
  iceServersRefreshInterval: integer(0, MAX_TIMER_MS),
  backplane: withMethods<Backplane>('a Backplane', ['start', 'claim', 'release', 'forward', 'close']),
  authorizeJoin: func(),
  maxRoomsPerPeer: integer(0, 65536),
  maxRoomMembers: integer(1, 1_000_000),
  peerListPageSize: integer(0, 10_000),
};

/** Fills in defaults and throws {@link InvalidOptionError} on an unknown option or a value that cannot work. */
export function resolveHubOptions(options?: unknown): ResolvedHubOptions {
  const resolved = resolveOptions<ResolvedHubOptions>('SignallingHub', options, hubDefaults, hubChecks);
  if (resolved.turn !== undefined && resolved.iceServers !== undefined) {
    throw new InvalidOptionError('iceServers', 'no iceServers hook when turn is given (the two are exclusive)', 'a function');
  }
  const backplane = resolved.backplane;
  if (backplane !== undefined && (typeof backplane.nodeId !== 'string' || backplane.nodeId === '')) {
    throw new InvalidOptionError('backplane.nodeId', 'a non-empty string', describeValue(backplane.nodeId));
  }
  return Object.freeze(resolved);
}
