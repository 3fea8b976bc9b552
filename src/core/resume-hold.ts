import { CloseCode } from '../protocol/close-codes.js';
import type { Envelope, ResumeGrant } from './backplane.js';
import { ConnectionState, type Parked, type PartnerNode } from './connection-state.js';
import type { Peer } from './peer.js';

/**
 * Whether a connection that ended with `code` means to come back, so that a
 * resumable peer keeps its name for `resumeGrace`: no close frame at all
 * (1006, or no code reported: the connection was lost, a heartbeat timed
 * out), a drain (4503), a service restart (1012), or a client's own
 * {@link CloseCode.Reconnecting} (4000). A close frame with any other code,
 * or with none (1005, a plain `WebSocket.close()`), is a goodbye.
 */
export function meansToComeBack(code: number | undefined): boolean {
  switch (code) {
    case undefined:
    case 1006:
    case 1012:
    case CloseCode.Reconnecting as number:
    case CloseCode.Reconnect as number:
      return true;
    default:
      return false;
  }
}

/** The peer a login resumes, between its take-over and the login reply. */
export interface Predecessor {
  /** What was parked for it, delivered right after the login reply. */
  readonly parked: readonly Parked[] | undefined;
  /** The peer as it was (`peer-resumed`'s `previous`). */
  readonly view: Peer;
}

/** While transferring: the state to return to if the move fails, and when the grace would have ended. */
export interface Transfer {
  readonly state: ConnectionState.Joined | ConnectionState.Dropped;
  readonly graceEnds: number;
}

/**
 * What a connection keeps only around a resume: the relays parked for it
 * while it is dropped (bounded by `resumeMaxMessages`/`resumeMaxBytes`), its
 * grace timer, the hand-over to another node, and, on the resuming side, the
 * peer it takes over. Made on the first need and dropped once the peer is
 * joined again (an idle peer keeps none).
 */
export class ResumeHold {
  /** Relays for the peer while it is dropped (or resuming from another node), in order. */
  private parked: Parked[] | undefined = undefined;
  /** Bytes and count of what is parked within the bounds (every kind but a partner's `leave`). */
  private boundedBytes = 0;
  private boundedCount = 0;
  /** Bytes of partners' `leave`s, held outside the bounds (at most one per sender). */
  private leaveBytes = 0;
  private graceTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** When the grace ends (0: no grace running or paused). */
  graceEnds = 0;
  predecessor: Predecessor | undefined = undefined;
  transfer: Transfer | undefined = undefined;
  /**
   * Logging in to resume a peer held on another node: relays from this node to the name are
   * parked here until the grant arrives, so none is lost (they follow the grant's held ones).
   */
  resuming = false;

  /** Parks a frame within `maxMessages`/`maxBytes`; false when they are reached. */
  park(
    frame: string | Uint8Array,
    from: string,
    fromNode: string | null,
    kind: Parked['kind'],
    maxMessages: number,
    maxBytes: number,
  ): boolean {
    const size = frame.length;
    if (this.boundedCount >= maxMessages || this.boundedBytes + size > maxBytes) return false;
    // Fast-path frames live in a reused buffer: keep a copy.
    (this.parked ??= []).push({ frame: typeof frame === 'string' ? frame : frame.slice(), from, fromNode, kind });
    this.boundedBytes += size;
    this.boundedCount++;
    return true;
  }

  /**
   * Holds a call partner's `leave` outside the bounds (a partner that misses
   * it keeps a dead call), replacing an earlier one from the same sender: its
   * later one comes after whatever that sender parked in between. A `leave`
   * ends the call, so a sender holds one again only after a new offer or
   * answer, which the bounds count: held `leave`s stay within
   * `maxCallsPerPeer + resumeMaxMessages` frames of one name each.
   */
  holdLeave(frame: string | Uint8Array, from: string, fromNode: string | null): void {
    const parked = (this.parked ??= []);
    const earlier = parked.findIndex((entry) => entry.kind === 'leave' && entry.from === from && entry.fromNode === fromNode);
    if (earlier >= 0) this.leaveBytes -= parked.splice(earlier, 1)[0]!.frame.length;
    parked.push({ frame: typeof frame === 'string' ? frame : frame.slice(), from, fromNode, kind: 'leave' });
    this.leaveBytes += frame.length;
  }

  /** Takes every parked relay out, oldest first. */
  take(): Parked[] | undefined {
    const parked = this.parked;
    this.parked = undefined;
    this.boundedBytes = 0;
    this.boundedCount = 0;
    this.leaveBytes = 0;
    return parked;
  }

  /** Bytes (UTF-16 units for text frames) of everything parked, within the bounds or not. */
  get bytes(): number {
    return this.boundedBytes + this.leaveBytes;
  }

  /** What is parked, left in place. */
  peek(): readonly Parked[] | undefined {
    return this.parked;
  }

  /** Runs `expire` at `ends` unless the grace is cleared first. */
  armGrace(ends: number, expire: () => void): void {
    this.graceEnds = ends;
    this.graceTimer = setTimeout(expire, Math.max(0, ends - Date.now()));
  }

  /** Stops the grace timer (`graceEnds` stays: a failed transfer re-arms with it). */
  clearGrace(): void {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  /** Whether nothing is left that a joined peer would need kept. */
  get settled(): boolean {
    return this.parked === undefined && this.predecessor === undefined && this.transfer === undefined && !this.resuming;
  }
}

/**
 * The grant a transferring peer hands to node `nodeId`'s resume: held relays
 * and partners, with node ids filled in for this node.
 */
export function grantOf(
  peer: Peer,
  nodeId: string,
  parked: readonly Parked[] | undefined,
  partners: ReadonlyMap<string, PartnerNode> | undefined,
): ResumeGrant {
  const decoder = new TextDecoder();
  const held: Envelope[] = (parked ?? []).map((entry) => ({
    kind: entry.kind,
    from: entry.from,
    fromNode: entry.fromNode ?? nodeId,
    to: peer.name,
    frame: typeof entry.frame === 'string' ? entry.frame : decoder.decode(entry.frame),
  }));
  const calls: Array<readonly [string, string]> = [];
  for (const [name, node] of partners ?? []) calls.push([name, node ?? nodeId]);
  const { id, name, remoteAddress, joinedAt } = peer;
  return { previous: { id, name, remoteAddress, node: nodeId, joinedAt }, parked: held, partners: calls };
}

/** What a login takes over from a grant another node handed over (`localNode`: this node, written `null`). */
export function fromGrant(
  grant: ResumeGrant,
  localNode: string,
): { partners: Map<string, PartnerNode>; predecessor: Predecessor } {
  const partners = new Map<string, PartnerNode>(grant.partners.map(([name, node]) => [name, node === localNode ? null : node]));
  const parked = grant.parked.map((entry) => ({
    frame: entry.frame,
    from: entry.from,
    fromNode: entry.fromNode === localNode ? null : entry.fromNode,
    kind: entry.kind as Parked['kind'],
  }));
  return { partners, predecessor: { parked, view: Object.freeze({ ...grant.previous, data: undefined }) } };
}
