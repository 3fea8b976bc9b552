import type { RelayType } from '../protocol/messages.js';

/** Where a connection is in its life; only the connection's own methods change it. */
export enum ConnectionState {
  /** Connected, not logged in. */
  Open,
  /** A login is being decided; messages wait in its login phase. */
  LoggingIn,
  /** Logged in. */
  Joined,
  /**
   * The transport is gone without a goodbye, and the login asked to be
   * resumable: the name stays reserved for `resumeGrace`, relays to it are
   * parked, its partners hear nothing. A login with its token resumes it.
   */
  Dropped,
  /**
   * Handing its name over to a resume on another node: relays to it go
   * through the backplane (to wherever the name is once the move is done).
   */
  Transferring,
  /** Closed; everything it held is released. */
  Closed,
}

/** A relay (or a host message, or a `leave`) waiting for a dropped peer to resume. */
export interface Parked {
  readonly frame: string | Uint8Array;
  /** The sender's name (`''` for a host message). */
  readonly from: string;
  /** The sender's node; `null` for this node. */
  readonly fromNode: string | null;
  readonly kind: RelayType | 'message';
}

/** Partner node of a call: `null` when the partner is on this node. */
export type PartnerNode = string | null;
