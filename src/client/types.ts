import type { ErrorMessage, IceServer } from '../protocol/messages.js';
import type { LoginError, RoomError } from './errors.js';

/**
 * A session description as it travels through the hub: the shape of the DOM's
 * `RTCSessionDescriptionInit`, declared here so the client needs no DOM types.
 */
export interface SessionDescriptionInit {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp?: string;
}

/** An ICE candidate as it travels through the hub: the shape of the DOM's `RTCIceCandidateInit`. */
export interface IceCandidateInit {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/**
 * The part of a WebSocket the client uses. Both the browser's `WebSocket` and
 * the `ws` package's class fit it.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // `object`, not a precise event type: the DOM's and ws's event classes differ, and both must fit.
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: object) => void): void;
}

/**
 * A WebSocket class: `globalThis.WebSocket`, or `WebSocket` from the `ws`
 * package (whose third argument takes the handshake's `headers`).
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => WebSocketLike;

/** What the `credentials` callback returns: what the hub sees on the next connection and login. */
export interface Credentials {
  /** Query parameters set on the URL (e.g. a fresh token for the host's `verifyUpgrade`). */
  query?: Readonly<Record<string, string>>;
  /** Headers of the handshake: the `ws` package's WebSocket and the HTTP fallback only (browsers cannot set a WebSocket's). */
  headers?: Readonly<Record<string, string>>;
  /** Fields of the login message, on top of `loginFields` (never `type`, `name`, `token`, `resume`). */
  login?: Readonly<Record<string, unknown>>;
}

/** The argument of the `credentials` callback. */
export interface CredentialsRequest {
  /** 0 for the first connection of a `login()`, else the reconnection attempt (1, 2…). */
  attempt: number;
  /** The refusal that made the client ask again: the credentials it had were refused. */
  refused: LoginError | undefined;
}

/** The `credentials` option: called before every connection and login. */
export type CredentialsSource = (request: CredentialsRequest) => Credentials | undefined | Promise<Credentials | undefined>;

/** Where the client is in its life. */
export type ClientState =
  /** Constructed; `login()` not called yet. */
  | 'idle'
  /** The WebSocket is opening. */
  | 'connecting'
  /** Open but not logged in (before the login reply, or after a refusal). */
  | 'connected'
  /** Logged in: relays can be sent. */
  | 'logged-in'
  /** The connection was lost after a login (or a draining server closed it, 4503); waiting to connect and resume. */
  | 'reconnecting'
  /** Closed for good: by `close()`, by the server (kick, take-over), or after giving up. */
  | 'closed';

/** Payload of the `login` event. */
export interface LoginEvent {
  /** The name now held. */
  name: string;
  /**
   * `true` when the hub resumed the session: the calls it tracked carry on,
   * the relays sent meanwhile follow, and the partners heard nothing. `false`
   * for a first login, and for an automatic one that found the name free (the
   * grace had passed, or the server restarted and forgot it): the partners
   * may have heard `leave`. A hub that does not say (its login reply has no
   * `resumed`) makes every automatic login after a reconnection `true`.
   */
  resumed: boolean;
}

/** Payload of the `close` event. */
export interface CloseEvent {
  /** The WebSocket close code (1006 when the connection was lost without one). */
  code: number;
  reason: string;
  /** Whether the client will connect and log in again. */
  reconnecting: boolean;
  /**
   * Why, when the hub refused: an automatic login refused (the client gives
   * up), or a refused handshake (`unauthorized`, `forbidden`: it gives up
   * unless the `credentials` callback gives other credentials;
   * `too-many-requests`, `unavailable`: it tries again later), or the
   * `credentials` callback failed.
   */
  error?: LoginError;
}

/** Payload of the `reconnecting` event. */
export interface ReconnectingEvent {
  /** 1 for the first attempt after a loss, then 2, 3… */
  attempt: number;
  /** Milliseconds until this attempt. */
  delay: number;
}

/** Payload of the `dropped` event: a held relay (or broadcast) that was given up because the outbox was full. */
export interface DroppedEvent {
  /** The relay's type, or `broadcast`. */
  type: 'offer' | 'answer' | 'candidate' | 'leave' | 'broadcast';
  /** The peer it was for (for a broadcast: the room). */
  to: string;
}

/** Payload of the `ice-servers` event. */
export interface IceServersEvent {
  /** The hub's servers now, as `client.iceServers` has them: `undefined` when the last login reply carried none. */
  iceServers: IceServer[] | undefined;
}

/** Payload of the `room-joined` event. */
export interface RoomJoinedEvent {
  room: string;
  /** The other members, in the order they joined. */
  members: string[];
  /** `true` when the client joined again by itself after a fresh login (its resume had expired). */
  rejoined: boolean;
}

/** Payload of the `room-parted` event: this client is no longer in `room`. */
export interface RoomPartedEvent {
  room: string;
  /** `part`: `part()` was called; `refused`: the join again after a fresh login was refused (`error` says why). */
  reason: 'part' | 'refused';
  error?: RoomError;
}

/** Payload of the `joined` and `parted` events. */
export interface MemberEvent {
  room: string;
  /** The member that joined or parted. */
  name: string;
}

/** Payload of the `broadcast` event. */
export interface BroadcastEvent {
  room: string;
  /** The member that sent it; `undefined` for the host's own (`hub.broadcast()`). */
  from: string | undefined;
  data: unknown;
}

/** Events of {@link SignallingClient}, typed for `client.on()`. */
export interface SignallingClientEvents {
  /** The WebSocket opened (the login is sent next). */
  open: () => void;
  /** A login succeeded: the one `login()` asked for, or an automatic one after a reconnection. */
  login: (event: LoginEvent) => void;
  /** A peer sent an offer. */
  offer: (event: { from: string; offer: SessionDescriptionInit }) => void;
  /** A peer answered an offer. */
  answer: (event: { from: string; answer: SessionDescriptionInit }) => void;
  /** A peer sent an ICE candidate (`null` when the peer sent end-of-candidates as `null`). */
  candidate: (event: { from: string; candidate: IceCandidateInit | null }) => void;
  /** A peer left the call, or its connection closed. */
  leave: (event: { from: string }) => void;
  /** The hub answered a request with an error (e.g. `peer-not-found`); the connection stays usable. */
  error: (error: ErrorMessage) => void;
  /** A JSON object of a type the protocol does not define, e.g. one the host sent with `hub.send()`. */
  message: (message: Record<string, unknown>) => void;
  /** The WebSocket closed. */
  close: (event: CloseEvent) => void;
  /** A reconnection attempt is scheduled. */
  reconnecting: (event: ReconnectingEvent) => void;
  /**
   * A held relay was dropped: the outbox (`maxOutboxMessages`, `maxOutboxBytes`)
   * was full. Held candidates go first, then the oldest relays.
   */
  dropped: (event: DroppedEvent) => void;
  /**
   * The hub's STUN/TURN servers changed: a login reply carried them (or, after
   * one that did, carried none), or the hub pushed fresh ones before the
   * credentials expire. Emitted before `login` and before `login()` resolves.
   */
  'ice-servers': (event: IceServersEvent) => void;
  /**
   * The client reaches the hub another way: `'websocket'` at the first
   * connection, `'http'` when it falls back to the hub's HTTP fallback
   * (`reason` says why) or is told to use it.
   */
  transport: (event: TransportEvent) => void;
  /** This client is in `room`: a `join()` succeeded, or it joined again by itself after a fresh login. */
  'room-joined': (event: RoomJoinedEvent) => void;
  /** This client left `room`: by `part()`, or its join again after a fresh login was refused. */
  'room-parted': (event: RoomPartedEvent) => void;
  /** Another peer joined a room this client is in (the hub's `joined`). */
  joined: (event: MemberEvent) => void;
  /** A member left a room this client is in: it parted, or its session ended (the hub's `parted`). */
  parted: (event: MemberEvent) => void;
  /** A member (or the host) broadcast `data` to a room this client is in. */
  broadcast: (event: BroadcastEvent) => void;
}

/** Payload of the `transport` event. */
export interface TransportEvent {
  readonly transport: 'websocket' | 'http';
  /** Why the client fell back to HTTP, when it did. */
  readonly reason: string | undefined;
}
