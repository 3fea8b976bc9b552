import { limitCloseReason } from '../protocol/close-reason.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { ResumeGrant } from './backplane.js';
import type { ConnectionHost } from './connection-host.js';
import { ConnectionExtras, type ExtraKey } from './connection-extras.js';
import { ConnectionState, type Parked, type PartnerNode } from './connection-state.js';
import { TransportError } from './errors.js';
import type { LeaveReason, Peer } from './peer.js';
import { ResumeHold, fromGrant, grantOf } from './resume-hold.js';
import { HubCounters } from './stats.js';
import type { Transport } from './transport.js';

/**
 * The part of a connection that outlives its transport: its calls, the relays
 * parked for it while it is dropped, its grace, and the hand-over of all of
 * them to the login that resumes it, on this node or another. `Connection`
 * (connection.ts) extends it with the login, inbound and outbound sides; the
 * state lives here so that both change it only through their own methods.
 */
export abstract class ResumableConnection {
  protected currentState = ConnectionState.Open;

  /** Peers in a call with this one (offer/answer exchanged, no leave since). Created on the first call. */
  protected calls: Map<string, PartnerNode> | undefined;

  /** Backpressure: when the transport's queue was first seen over `maxBufferedBytes` (0: it is not). */
  congestedSince = 0;
  /** The login asked for resumption (`"resume":true`): a drop reserves the name instead of releasing it. */
  resumable = false;
  /** What only some connections hold, made on the first need (see `connection-extras.ts`). */
  protected extras: ConnectionExtras | undefined;

  constructor(
    protected readonly host: ConnectionHost<ResumableConnection>,
    protected readonly transport: Transport,
  ) {}

  /** The read-only view of this peer for the host. */
  abstract peer(): Peer;
  /** → Closed: releases the name, the timers and what was held. */
  protected abstract release(why: LeaveReason, code: number | undefined): void;
  /** Stops every timer the connection runs. */
  protected abstract clearTimers(): void;

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Changes the state (the only place it changes); the host hears when it enters or leaves Joined. */
  protected enter(state: ConnectionState): void {
    const joined = this.currentState === ConnectionState.Joined;
    this.currentState = state;
    if (joined !== (state === ConnectionState.Joined)) this.host.joinedChanged(this, !joined);
  }

  /** Peers in a call with this one, and the node each is on (`null`: this node). */
  get partners(): ReadonlyMap<string, PartnerNode> | undefined {
    return this.calls;
  }

  /** Logging in to resume a peer held on another node (relays to the name are parked here meanwhile). */
  get resuming(): boolean {
    return this.hold?.resuming === true;
  }

  /** Around a resume: parked relays, the grace, a transfer, the peer taken over. */
  protected get hold(): ResumeHold | undefined {
    return this.extras?.hold;
  }

  protected set hold(hold: ResumeHold | undefined) {
    this.setExtra('hold', hold);
  }

  /** Sets one of the extras: the side object is made for a value and dropped once it holds nothing. */
  protected setExtra<K extends ExtraKey>(key: K, value: ConnectionExtras[K]): void {
    const extras = this.extras;
    if (value !== undefined) (extras ?? (this.extras = new ConnectionExtras()))[key] = value;
    else if (extras !== undefined) {
      extras[key] = value;
      if (extras.empty) this.extras = undefined;
    }
  }

  protected resumeHold(): ResumeHold {
    let hold = this.hold;
    if (hold === undefined) this.hold = hold = new ResumeHold();
    return hold;
  }

  /** This login resumes a peer held on another node: relays to its name are parked here until it is decided. */
  beginResume(): void {
    this.resumeHold().resuming = true;
  }

  /**
   * Hands this peer's name, calls and parked relays to `successor` (a login
   * with the resume token): nobody hears `leave`. If this connection is still
   * open it is closed with 4409.
   */
  handOver(successor: ResumableConnection): void {
    const state = this.currentState;
    if (state !== ConnectionState.Joined && state !== ConnectionState.Dropped) return;
    this.enter(ConnectionState.Closed);
    this.clearTimers();
    successor.calls = this.calls;
    successor.resumeHold().predecessor = { parked: this.hold?.take(), view: this.peer() };
    this.calls = undefined;
    this.hold = undefined;
    this.host.handedOver(this);
    if (state === ConnectionState.Joined) {
      HubCounters.bump(this.host.counters.closes, String(CloseCode.Replaced));
      this.closeTransport(CloseCode.Replaced, 'resumed by a new connection');
    }
  }

  /** Joined → Dropped: the name stays reserved for `resumeGrace`; the peer may resume. */
  protected drop(code: number | undefined): void {
    this.enter(ConnectionState.Dropped);
    this.clearTimers();
    this.congestedSince = 0;
    HubCounters.bump(this.host.counters.closes, code === undefined ? 'none' : String(code));
    const expiresAt = Date.now() + this.host.options.resumeGrace;
    this.armGrace(expiresAt);
    this.host.dropped(this, code, expiresAt);
  }

  private armGrace(ends: number): void {
    this.resumeHold().armGrace(ends, () => this.expire());
  }

  /**
   * Joined or Dropped → Transferring, for a resume on node `nodeId`'s peer:
   * returns what the resuming node takes over (held relays and partners, with
   * node ids filled in for this node).
   */
  beginTransfer(nodeId: string): ResumeGrant | undefined {
    const state = this.currentState;
    if (state !== ConnectionState.Joined && state !== ConnectionState.Dropped) return undefined;
    const hold = this.resumeHold();
    hold.transfer = { state, graceEnds: hold.graceEnds };
    this.enter(ConnectionState.Transferring);
    hold.clearGrace();
    return grantOf(this.peer(), nodeId, hold.peek(), this.calls);
  }

  /** The transfer ended: the name moved (this connection goes without `leave`) or it did not (back as it was). */
  settleTransfer(committed: boolean): void {
    const hold = this.hold;
    const transfer = hold?.transfer;
    if (this.currentState !== ConnectionState.Transferring || transfer === undefined) return;
    hold!.transfer = undefined;
    if (!committed) {
      this.enter(transfer.state);
      if (transfer.state === ConnectionState.Dropped) this.armGrace(transfer.graceEnds);
      else if (hold!.settled) this.hold = undefined;
      return;
    }
    this.enter(ConnectionState.Closed);
    this.clearTimers();
    this.calls = undefined;
    this.hold = undefined;
    this.host.handedOver(this);
    if (transfer.state === ConnectionState.Joined) {
      HubCounters.bump(this.host.counters.closes, String(CloseCode.Replaced));
      this.closeTransport(CloseCode.Replaced, 'resumed on another node');
    }
  }

  /** Before `join()`: this login resumes a peer that another node handed over. */
  resumeFrom(grant: ResumeGrant, localNode: string): void {
    const { partners, predecessor } = fromGrant(grant, localNode);
    this.calls = partners;
    this.resumeHold().predecessor = predecessor;
  }

  /**
   * Joined → Dropped on the hub's initiative (a drain): the client is told to
   * reconnect and resume (4503). Returns false, changing nothing, when the
   * peer cannot resume.
   */
  dropToResume(reason: string): boolean {
    if (this.currentState !== ConnectionState.Joined || !this.resumable || this.host.options.resumeGrace === 0) return false;
    this.drop(CloseCode.Reconnect);
    this.closeTransport(CloseCode.Reconnect, reason);
    return true;
  }

  /** The grace passed without a resume: partners hear `leave`, senders of parked relays hear `peer-gone`. */
  private expire(): void {
    if (this.currentState !== ConnectionState.Dropped) return;
    this.abandonParked();
    this.release('resume-expired', undefined);
  }

  /** Counts, as local, relays this node's peers sent while this login was resuming (the router left them uncounted). */
  protected countHeld(parked: readonly Parked[]): void {
    const relays = this.host.counters.relays;
    for (const { kind } of parked) if (kind !== 'message') relays[kind].local++;
  }

  /** Relays parked for a resume that did not happen: their senders hear `peer-gone`. */
  private abandonParked(): void {
    const parked = this.hold?.take();
    if (parked !== undefined) this.host.router.expired(this, parked);
  }

  /**
   * Parks a frame for this dropped (or resuming, or logging-in) peer; false when its bounds
   * are reached. A dropped peer holds a `leave` only from a call partner
   * (outside the bounds, one per sender, ending the call); one from anyone
   * else ends no call and is not held (true: nothing to answer). A login
   * resuming from another node does not know its calls yet: it holds a
   * `leave` within the bounds, as a relay.
   */
  park(frame: string | Uint8Array, from: string, fromNode: string | null, kind: Parked['kind']): boolean {
    if (kind === 'leave' && this.currentState === ConnectionState.Dropped) {
      if (this.calls?.has(from) !== true) return true;
      this.calls.delete(from);
      this.resumeHold().holdLeave(frame, from, fromNode);
      return true;
    }
    const { resumeMaxMessages, resumeMaxBytes } = this.host.options;
    return this.resumeHold().park(frame, from, fromNode, kind, resumeMaxMessages, resumeMaxBytes);
  }

  /** Holds the hub's own `leave` from call partner `from` (gone, or its node is) for this dropped peer: one per sender. */
  holdLeave(frame: string, from: string, fromNode: string | null): void {
    this.calls?.delete(from);
    this.resumeHold().holdLeave(frame, from, fromNode);
  }

  /** Bytes parked for this peer while it is dropped or resuming (0 otherwise). */
  get heldBytes(): number {
    return this.hold?.bytes ?? 0;
  }

  protected closeTransport(code: number, reason: string): void {
    try {
      this.transport.close(code, limitCloseReason(reason));
    } catch (error) {
      // A connection the hub let go of must not stay open: drop it.
      this.host.reportError(new TransportError(`The transport failed to close a connection (${code}); it was terminated`, error));
      try {
        this.transport.terminate?.();
      } catch (terminateError) {
        this.host.reportError(new TransportError('The transport failed to terminate a connection', terminateError));
      }
    }
  }

  // --- Calls ---

  /** Records a call partner (bounded by `maxCallsPerPeer`). */
  addPartner(name: string, node: PartnerNode): void {
    let calls = this.calls;
    if (calls === undefined) calls = this.calls = new Map();
    else if (calls.size >= this.host.options.maxCallsPerPeer && !calls.has(name)) return;
    calls.set(name, node);
  }

  /** The call with `name` ended. */
  endCall(name: string): void {
    this.calls?.delete(name);
  }

  /** A call partner now lives on `node` (`null`: this node), if it is a partner. */
  partnerMoved(name: string, node: PartnerNode): void {
    if (this.calls?.has(name) === true) this.calls.set(name, node);
  }

  /** Takes every call out (the peer is going: each partner hears `leave`). */
  takeCalls(): ReadonlyMap<string, PartnerNode> | undefined {
    const calls = this.calls;
    this.calls = undefined;
    return calls;
  }
}
