import type { DataChannelOf, PeerConnectionLike, PlatformPeerConnection, TrackEventOf } from './webrtc.js';

/** Why a peer's connection was closed. */
export type PeerCloseReason =
  /**
   * The peer sent `leave`, or its session ended: its signalling connection
   * closed (for a resumable peer: and it did not resume within the hub's grace).
   */
  | 'leave'
  /** This side called `hangUp()`. */
  | 'hang-up'
  /** The connection reached `failed` (again, after an ICE restart when `iceRestart` is on), or negotiation threw. */
  | 'failed'
  /** The hub answered `peer-not-found` (or `peer-gone`) while the connection was not connected: the peer is not logged in. */
  | 'unreachable'
  /** `close()` closed every connection. */
  | 'closed';

/**
 * Events of {@link PeerConnectionManager}, typed for `manager.on()`. `C` is
 * the connection type: the DOM's `RTCPeerConnection` in a browser project,
 * that of the `RTCPeerConnection` option when one is given.
 */
export interface PeerConnectionManagerEvents<C extends PeerConnectionLike = PlatformPeerConnection> {
  /**
   * A connection to `peer` was created, by `call()` (`initiator: true`) or
   * for an incoming offer. Listeners run before negotiation starts: add
   * tracks and data channels here.
   */
  connection: (event: { peer: string; connection: C; initiator: boolean }) => void;
  /** The remote peer opened a data channel. */
  datachannel: (event: { peer: string; channel: DataChannelOf<C> }) => void;
  /** A remote media track arrived. */
  track: (event: { peer: string; track: TrackEventOf<C>['track']; streams: TrackEventOf<C>['streams'] }) => void;
  /** The connection's `connectionState` changed. */
  state: (event: { peer: string; state: C['connectionState'] }) => void;
  /** The connection to `peer` was closed and forgotten. */
  closed: (event: { peer: string; reason: PeerCloseReason }) => void;
  /**
   * Negotiation with `peer` failed: the connection is closed with reason
   * `failed`. Or the hub's fresh ICE servers could not be applied to the live
   * connection (its `setConfiguration()` threw): that call goes on with the
   * servers it had.
   */
  error: (event: { peer: string; error: Error }) => void;
}
