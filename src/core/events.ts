import type { ErrorCode, LoginFailure } from '../protocol/error-codes.js';
import type { BackplaneState } from './backplane.js';
import type { SignallingHubError } from './errors.js';
import type { Peer, PeerDropped, PeerLeft, PeerResumed } from './peer.js';
import type { JoinRefusal } from '../protocol/rooms.js';
import type { RoomJoined, RoomParted } from './rooms/room-events.js';

/** A client sent something the hub answered with an error (for observing, e.g. metrics). */
export interface ProtocolErrorEvent {
  /** Connection id. */
  readonly id: number;
  /** The peer's name, when it is logged in. */
  readonly name: string | undefined;
  /** The `code` of the error reply, or the login failure or join refusal `reason`. */
  readonly code: `${ErrorCode}` | `${LoginFailure}` | `${JoinRefusal}`;
  /** The human-readable message of the reply. */
  readonly message: string;
}

/** Events of {@link SignallingHub}, typed for `hub.on()` (`D`: the type of `peer.data`). */
export interface HubEvents<D = unknown> {
  /** A connection logged in. */
  'peer-joined': (peer: Peer<D>) => void;
  /** A logged-in connection is gone; its name is free again. */
  'peer-left': (event: PeerLeft<D>) => void;
  /**
   * A resumable peer's connection ended without a goodbye: its name stays
   * reserved, its partners hear nothing yet. `peer-resumed` or, after
   * `resumeGrace`, `peer-left` (reason `resume-expired`) follows.
   */
  'peer-dropped': (event: PeerDropped<D>) => void;
  /** A peer took its name back with its token: its calls go on; nobody heard `leave`. */
  'peer-resumed': (event: PeerResumed<D>) => void;
  /**
   * A peer of this node joined a room (emitted once, on the member's node;
   * a resume keeps its rooms and emits nothing).
   */
  'room-joined': (event: RoomJoined) => void;
  /**
   * A peer of this node left a room: it parted, the host parted it, or it is
   * gone (emitted once, on the member's node; members of a node that died are
   * parted for everyone with no event, as they get no `peer-left`).
   */
  'room-parted': (event: RoomParted) => void;
  /** A client's message was refused with an `error` reply or a failed login. */
  'protocol-error': (event: ProtocolErrorEvent) => void;
  /** Something failed inside the hub or its backplane, or a host hook threw. The hub keeps serving. */
  error: (error: SignallingHubError) => void;
  /** A degraded mode worth one log line (e.g. the ws adapter's fast path could not engage). */
  warning: (warning: SignallingHubError) => void;
  /** The backplane connected, lost its connection, or closed. */
  'backplane-state': (state: BackplaneState) => void;
}
