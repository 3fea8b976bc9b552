import type { BackplaneState } from './backplane.js';
import type { RelayType } from '../protocol/messages.js';

/** Counters of relays of one type sent by this node's peers. */
export interface RelayCounts {
  /** Delivered to a peer on this node. */
  readonly local: number;
  /** Handed to the backplane for a peer on another node. */
  readonly crossNode: number;
}

/**
 * A snapshot of one hub's counters and gauges (`hub.stats()`). Counters only
 * grow from the hub's creation; gauges are read at the call. Nothing in it
 * names a peer (metrics must not carry per-name labels), and no secret
 * (resume tokens, TURN secrets) is ever in it.
 */
export interface HubStats {
  /** Gauge: logged-in peers on this node. */
  readonly peers: number;
  /** Gauge: open connections on this node, logged in or not. */
  readonly connections: number;
  /** Gauge: resumable peers that dropped and whose names are reserved for `resumeGrace`. */
  readonly droppedPeers: number;
  /**
   * Gauge: bytes (UTF-16 code units of the frames, as `resumeMaxBytes` counts
   * them) held on this node for dropped peers and resumes being decided:
   * relays and host messages within `resumeMaxBytes` per peer, plus at most
   * one `leave` per call partner.
   */
  readonly heldBytes: number;
  /** Peers that came back with their token (a take-over of a stale connection, or a resume). */
  readonly resumes: number;
  /** Successful logins. */
  readonly logins: number;
  /** Refused logins by `reason` (`name-taken`, `unauthorized`…). */
  readonly loginRefusals: Readonly<Record<string, number>>;
  /** Relays sent by this node's peers, by type and scope. */
  readonly relays: Readonly<Record<RelayType, RelayCounts>>;
  /** Relays from other nodes delivered to this node's peers. */
  readonly relaysFromCluster: number;
  /** `error` replies and refused logins by code. */
  readonly protocolErrors: Readonly<Record<string, number>>;
  /** Closed connections by close code (`'none'` when the transport reported none). */
  readonly closes: Readonly<Record<string, number>>;
  /** Bytes of frames received from clients. */
  readonly bytesIn: number;
  /** Bytes of frames sent to clients. */
  readonly bytesOut: number;
  /** Gauge: bytes queued to clients and not yet written, summed over connections. */
  readonly queuedBytes: number;
  /** The backplane's health; `state` is `'none'` without one. */
  readonly backplane: { readonly state: BackplaneState | 'none'; readonly roundTripMs: number | undefined };
}

/** The hub's counters, written by connections and the router; read by `hub.stats()`. */
export class HubCounters {
  logins = 0;
  resumes = 0;
  readonly loginRefusals: Record<string, number> = {};
  readonly relays: Record<RelayType, { local: number; crossNode: number }> = {
    offer: { local: 0, crossNode: 0 },
    answer: { local: 0, crossNode: 0 },
    candidate: { local: 0, crossNode: 0 },
    leave: { local: 0, crossNode: 0 },
  };
  relaysFromCluster = 0;
  readonly protocolErrors: Record<string, number> = {};
  readonly closes: Record<string, number> = {};
  bytesIn = 0;
  bytesOut = 0;

  static bump(counts: Record<string, number>, key: string): void {
    counts[key] = (counts[key] ?? 0) + 1;
  }
}
