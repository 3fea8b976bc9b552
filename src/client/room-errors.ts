import { SignallingHubError } from '../common/errors.js';
import type { JoinRefusal } from '../protocol/rooms.js';

/** Codes of the errors of rooms and mesh calls on the client. */
export type RoomErrorCode =
  /** A `join()` failed. */
  | 'SH_ERR_JOIN'
  /** A room holds more members than a mesh call is allowed (`maxMeshSize`). */
  | 'SH_ERR_MESH_FULL';

/**
 * Why a `join()` failed: the hub's refusal `reason`, or one of the client's
 * own: `connection-closed` (the session ended before the reply), `parted`
 * (`part()` was called before the reply), or an error code the hub answered
 * the join with (e.g. `rate-limited`).
 */
export type JoinErrorReason = `${JoinRefusal}` | 'connection-closed' | 'parted' | (string & {});

/** A `join()` failed; `reason` says why, `room` which room. */
export class JoinError extends SignallingHubError<'SH_ERR_JOIN'> {
  constructor(
    /** The room asked for. */
    readonly room: string,
    /** Why, machine-readable. */
    readonly reason: JoinErrorReason,
    message: string,
  ) {
    super('SH_ERR_JOIN', message);
  }
}

/**
 * A mesh call was refused because the room has more members than
 * `maxMeshSize` (every member calls every other: past a handful of people the
 * uplinks and CPUs give out; use an SFU).
 */
export class MeshFullError extends SignallingHubError<'SH_ERR_MESH_FULL'> {
  constructor(
    /** The room. */
    readonly room: string,
    /** Members the room has, this peer included. */
    readonly size: number,
    /** The manager's `maxMeshSize`. */
    readonly max: number,
  ) {
    super('SH_ERR_MESH_FULL', `Room ${JSON.stringify(room)} has ${size} members, more than maxMeshSize (${max}) for a mesh call`);
  }
}
