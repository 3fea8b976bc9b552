/** Why a logged-in peer left. */
export type LeaveReason =
  /** The client closed the connection, or the transport lost it. */
  | 'closed'
  /** The host called `hub.disconnect()`. */
  | 'disconnected'
  /** A new connection took the name over (with the resume token, or under `duplicateNames: 'replace'`). */
  | 'replaced'
  /** The connection flooded past its rate limit. */
  | 'rate-limited'
  /** The connection stopped reading. */
  | 'slow-consumer'
  /** The hub closed. */
  | 'hub-closed'
  /** The cluster found the name held on another node too, and this holder lost it (4410). */
  | 'claim-lost'
  /** The peer dropped and did not resume within `resumeGrace`. */
  | 'resume-expired';

/**
 * A logged-in peer as the host sees it: a frozen snapshot made at login,
 * never the connection itself (no resume token, no transport).
 */
export interface Peer<D = unknown> {
  /** Connection id, unique within this hub. */
  readonly id: number;
  /** The name the peer holds. */
  readonly name: string;
  /** The `data` `authenticate` gave this peer (`undefined` when it gave none). */
  readonly data: D;
  /** The peer's address, when the transport reported it. */
  readonly remoteAddress: string | undefined;
  /** The id of the cluster node serving the peer (the backplane's `nodeId`); `undefined` without a backplane. */
  readonly node: string | undefined;
  /** When the login succeeded, in milliseconds since the epoch. */
  readonly joinedAt: number;
}

/** Payload of `peer-left`. */
export interface PeerLeft<D = unknown> {
  /** The name the peer held; it is free again. */
  readonly name: string;
  /** Why it left. */
  readonly reason: LeaveReason;
  /** The close code, when the connection closed with one. */
  readonly code: number | undefined;
  /** The peer as it was. */
  readonly peer: Peer<D>;
}

/** Payload of `peer-dropped`: a resumable peer's connection ended without a goodbye. */
export interface PeerDropped<D = unknown> {
  /** The peer as it was; its name stays reserved. */
  readonly peer: Peer<D>;
  /** The close code, when the connection closed with one (4503 for a drain). */
  readonly code: number | undefined;
  /** When the reservation ends unless the peer resumes, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** Payload of `peer-resumed`: a dropped (or stale) peer came back with its token. */
export interface PeerResumed<D = unknown> {
  /** The peer on its new connection. */
  readonly peer: Peer<D>;
  /** The peer as it was before. */
  readonly previous: Peer<D>;
}
