import { SignallingHubError } from '../common/errors.js';

/** Codes of the errors of mesh calls on the client (a refused `join()` or `part()` is a `RoomError`, `SH_ERR_ROOM`). */
export type RoomErrorCode =
  /** A room holds more members than a mesh call is allowed (`maxMeshSize`). */
  'SH_ERR_MESH_FULL';

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
