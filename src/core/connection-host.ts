import type { ErrorCode, LoginFailure } from '../protocol/error-codes.js';
import type { RelayType } from '../protocol/messages.js';
import type { JoinRefusal, RoomRequestType } from '../protocol/rooms.js';
import type { Parked } from './connection-state.js';
import type { IceServerSource } from './ice-servers.js';
import type { ResolvedHubOptions } from './options.js';
import type { LeaveReason, Peer } from './peer.js';
import type { HubCounters } from './stats.js';

/**
 * What a connection asks of the name registry (the hub's router), for
 * connections of type `C`. Generic so that neither this file nor the
 * connection imports the router, and this file does not import the
 * connection: the router knows connections, connections know only this.
 */
export interface Routes<C> {
  /** Relays a frame to `target`, wherever it is; returns the local connection it went to, if any. */
  relay(from: C, type: RelayType, target: string, frame: string | Uint8Array): C | undefined;
  /** Relays a frame between two joined connections of this node. */
  relayLocal(from: C, type: RelayType, to: C, frame: string | Uint8Array): void;
  /** A dropped peer did not resume: the senders of its parked relays hear `peer-gone`. */
  expired(gone: C, parked: readonly Parked[]): void;
  /** A resume of `name` was refused: what it parked goes on to whoever holds the name. */
  reroute(name: string, parked: readonly Parked[]): void;
}

/**
 * What a connection needs from its hub, and nothing more: the hub's options,
 * the routes, the counters, and the hub's side of logins, departures and
 * reports. The hub builds one per hub; connections never see the hub itself.
 */
export interface ConnectionHost<C> {
  readonly options: ResolvedHubOptions;
  readonly router: Routes<C>;
  readonly counters: HubCounters;
  /** The backplane's node id, for peer views. */
  readonly nodeId: string | undefined;
  /** Where peers' ICE servers come from, when the hub hands them out. */
  readonly iceServerSource: IceServerSource | undefined;
  /** A room request (`join`, `part`, `broadcast`, `peers`) of a logged-in connection. */
  room(connection: C, type: RoomRequestType, message: Record<string, unknown>): void;
  /** Runs the login flow for a login message. */
  login(connection: C, message: Record<string, unknown>): void;
  /**
   * The connection entered the Joined state (`true`) or left it (`false`):
   * the hub finds open joined peers by their names and counts them apart
   * (see `hub-lifecycle.ts`). Called at the change itself, before anything is sent.
   */
  joinedChanged(connection: C, joined: boolean): void;
  /** A login succeeded: emit `peer-joined`. */
  joined(connection: C): void;
  /** A resumable peer's transport is gone: its name is reserved until `expiresAt`. */
  dropped(connection: C, code: number | undefined, expiresAt: number): void;
  /** A new connection took over this one's name, calls and parked relays (nothing is released). */
  handedOver(connection: C): void;
  /** A resume succeeded: `previous` is the peer as it was. */
  resumed(connection: C, previous: Peer): void;
  /** A connection is gone; `wasJoined` tells whether it held a name (partners hear `leave`, `peer-left` is emitted). */
  left(connection: C, why: LeaveReason, code: number | undefined, wasJoined: boolean): void;
  protocolError(connection: C, code: `${ErrorCode}` | `${LoginFailure}` | `${JoinRefusal}`, message: string): void;
  reportError(error: unknown): void;
}
