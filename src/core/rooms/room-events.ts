import type { Peer } from '../peer.js';

/** Payload of `room-joined`: a peer of this node joined a room. */
export interface RoomJoined {
  readonly room: string;
  /** The member, on this node. */
  readonly peer: Peer;
}

/**
 * Why a member left a room: it sent `part`, the host called `hub.part()`,
 * or the peer is gone (see `peer-left`: closed, disconnected, its resume
 * grace ended).
 */
export type RoomPartReason = 'part' | 'host' | 'left';

/** Payload of `room-parted`: a peer of this node left a room. */
export interface RoomParted {
  readonly room: string;
  /** The member's name. */
  readonly name: string;
  readonly reason: RoomPartReason;
}

/** The `authorizeJoin` hook's view of a join. */
export interface AuthorizeJoinContext {
  /** The peer asking (for `join` messages; the host's own `hub.join()` is not asked about). */
  readonly peer: Peer;
  /** The room, already checked against the name rules. */
  readonly room: string;
}
