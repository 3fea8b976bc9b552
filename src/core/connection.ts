import { limitCloseReason } from '../protocol/close-reason.js';
import { CloseCode } from '../protocol/close-codes.js';
import { encodeError, encodeLoginRefused, encodeRelayBytes, encodeRelaySuffix } from '../protocol/encode.js';
import { ErrorCode, type LoginFailure } from '../protocol/error-codes.js';
import type { RelayType } from '../protocol/messages.js';
import type { RoomRequestType } from '../protocol/rooms.js';
import { type RelayScan, targetIs, targetOf } from '../protocol/relay-scan.js';
import { utf8Length } from '../protocol/utf8.js';
import type { ResumeGrant } from './backplane.js';
import { overLimit, stillCongested } from './backpressure.js';
import type { ConnectionHost as Host } from './connection-host.js';
import { ConnectionState, type Parked, type PartnerNode } from './connection-state.js';
import { TransportError } from './errors.js';
import { armIceRefresh, stopIceRefresh } from './ice-refresh.js';
import { type InboundSink, dispatchInbound } from './inbound.js';
import { LoginPhase } from './login-phase.js';
import type { LeaveReason, Peer } from './peer.js';
import { Admission, type RateLimiter } from './rate-limiter.js';
import { ResumeHold, fromGrant, grantOf, meansToComeBack } from './resume-hold.js';
import { HubCounters } from './stats.js';
import type { Transport, TransportSession, UpgradeRequest } from './transport.js';

export { ConnectionState, type Parked, type PartnerNode } from './connection-state.js';

/** The hub's side of a connection (see `connection-host.ts`). */
export type ConnectionHost = Host<Connection>;

/**
 * One client connection: its state machine, its name and its calls. What
 * only some connections need lives in side objects made on demand (the login
 * phase, the resume hold), so an idle logged-in peer pays one field for each;
 * parsing is in `inbound.ts`, backpressure in `backpressure.ts`, the ICE
 * refresh in `ice-refresh.ts`. What crosses connections goes through the
 * routes. Only the connection's own methods change its state.
 */
export class Connection implements TransportSession, InboundSink {
  private currentState = ConnectionState.Open;
  /** The name held or being claimed (set from the claim on; `undefined` before). */
  name: string = undefined as unknown as string;
  /** The name JSON-encoded, made on first use (an idle peer never needs it). */
  private encodedName: string | undefined;
  /** `,"name":<nameJson>}` as UTF-8, made on the first byte-path relay (idle peers never need it). */
  private relaySuffix: Uint8Array | undefined;
  /**
   * The local peer this one last relayed to: candidates trickle to one peer, so the next relay
   * usually goes there too and needs no name decoding or lookup. Still joined means it still
   * holds that name (a name changes holder only through a new connection). Weak, so a peer
   * that left is not kept in memory by those that talked to it.
   */
  private lastTarget: WeakRef<Connection> | undefined;
  /** Id of this login's cluster claim: a late release of an earlier login never frees a later one. */
  claimId = '';
  /** Resume token of the current login: sent in the login reply, compared on a take-over, shown nowhere else. */
  token = '';
  private data: unknown = undefined;
  private joinedAt = 0;
  private view: Peer | undefined;

  /** Peers in a call with this one (offer/answer exchanged, no leave since). Created on the first call. */
  private calls: Map<string, PartnerNode> | undefined;

  /** Backpressure: when the transport's queue was first seen over `maxBufferedBytes` (0: it is not). */
  congestedSince = 0;
  /** The ICE refresh's timer (see `ice-refresh.ts`). */
  iceTimer: ReturnType<typeof setTimeout> | undefined;
  /** The login asked for resumption (`"resume":true`): a drop reserves the name instead of releasing it. */
  resumable = false;
  /** While the connection is being established: held messages, the login timer, the request. */
  private login: LoginPhase | undefined;
  /** Around a resume: parked relays, the grace, a transfer, the peer taken over. */
  private hold: ResumeHold | undefined;

  constructor(
    private readonly host: ConnectionHost,
    readonly id: number,
    private readonly transport: Transport,
    readonly remoteAddress: string | undefined,
    private readonly limiter: RateLimiter | undefined,
  ) {}

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The name JSON-encoded once, for building relayed frames and room messages. */
  get nameJson(): string {
    return (this.encodedName ??= JSON.stringify(this.name));
  }

  /** Whether it is logged in. */
  get joined(): boolean {
    return this.currentState === ConnectionState.Joined;
  }

  /** Peers in a call with this one, and the node each is on (`null`: this node). */
  get partners(): ReadonlyMap<string, PartnerNode> | undefined {
    return this.calls;
  }

  /** Logging in to resume a peer held on another node (relays to the name are parked here meanwhile). */
  get resuming(): boolean {
    return this.hold?.resuming === true;
  }

  /** The upgrade request, held only until login: the host's `authenticate` may read it. */
  get request(): UpgradeRequest | undefined {
    return this.login?.request;
  }

  private resumeHold(): ResumeHold {
    return (this.hold ??= new ResumeHold());
  }

  // --- TransportSession: what the adapter calls ---

  receive(message: string | Uint8Array): void {
    if (this.currentState >= ConnectionState.Dropped) return;
    this.host.counters.bytesIn += typeof message === 'string' ? utf8Length(message) : message.length;
    if (this.limiter !== undefined && !this.admit()) return;
    if (this.currentState === ConnectionState.LoggingIn) {
      const { maxPendingMessages, maxPendingBytes } = this.host.options;
      if (!this.login!.hold(message, maxPendingMessages, maxPendingBytes))
        this.fail(ErrorCode.LoginPending, 'Too many messages while the login is being decided: wait for the login reply');
      return;
    }
    dispatchInbound(this, message, this.host.options.maxMessageBytes);
  }

  receiveBinary(): void {
    if (this.currentState >= ConnectionState.Dropped) return;
    if (this.limiter !== undefined && !this.admit()) return;
    this.fail(ErrorCode.BinaryNotSupported, 'Binary frames are not supported: send JSON text');
  }

  closed(code?: number): void {
    const state = this.currentState;
    if (state === ConnectionState.Dropped) return;
    if (state === ConnectionState.Transferring) {
      // The old socket of a peer resuming elsewhere went: the transfer goes on; if it fails, it is dropped.
      const hold = this.hold!;
      if (hold.transfer?.state === ConnectionState.Joined)
        hold.transfer = { state: ConnectionState.Dropped, graceEnds: Date.now() + this.host.options.resumeGrace };
      return;
    }
    // A goodbye (a close frame the client sent on purpose) ends the peer at once; a lost connection may be a blip.
    if (state === ConnectionState.Joined && this.resumable && this.host.options.resumeGrace > 0 && meansToComeBack(code)) {
      this.drop(code);
      return;
    }
    this.release('closed', code);
  }

  // --- InboundSink: what inbound parsing hands over ---

  /** The relay hot path: a well-formed relay as bytes, forwarded without decoding. */
  relayBytes(message: Uint8Array, scan: RelayScan): void {
    const router = this.host.router;
    const type = scan.type;
    const suffix = (this.relaySuffix ??= encodeRelaySuffix(this.nameJson));
    const frame = encodeRelayBytes(type, message, scan.payloadStart, scan.payloadEnd, suffix);
    const last = this.lastTarget?.deref();
    if (last !== undefined && last.currentState === ConnectionState.Joined && targetIs(message, scan, last.name)) {
      router.relayLocal(this, type, last, frame);
    } else {
      const target = router.relay(this, type, targetOf(message, scan), frame);
      this.lastTarget = target === undefined ? undefined : new WeakRef(target);
    }
  }

  /** A parsed relay (text input, or bytes the scan left to `JSON.parse`), its frame built. */
  relayFrame(type: RelayType, target: string, frame: string): void {
    this.host.router.relay(this, type, target, frame);
  }

  /** Hands a login message to the hub's login flow (the `InboundSink` side of `login`). */
  loginRequested(fields: Record<string, unknown>): void {
    this.host.login(this, fields);
  }

  /** Hands a room request to the hub's rooms (the `InboundSink` side of `join`, `part`, `broadcast`, `peers`). */
  roomRequested(type: RoomRequestType, fields: Record<string, unknown>): void {
    this.host.room(this, type, fields);
  }

  // --- Life cycle: the only places the state changes ---

  /** Starts the login phase: keeps `request` for `authenticate` and arms the login timeout (the hub calls it once, on open). */
  start(request: UpgradeRequest | undefined, loginTimeout: number): void {
    if (request === undefined && loginTimeout <= 0) return;
    const phase = (this.login = new LoginPhase(request));
    if (loginTimeout > 0) phase.armTimer(loginTimeout, () => this.close(CloseCode.LoginTimeout, 'no login in time', 'closed'));
  }

  /** Open → LoggingIn: later messages are held until the login is decided. */
  beginLogin(): void {
    if (this.currentState !== ConnectionState.Open) return;
    this.currentState = ConnectionState.LoggingIn;
    // Opened without a login timeout or a request, it has had no login phase until now.
    this.login ??= new LoginPhase(undefined);
  }

  /** The login is claiming `name` under `claimId` (the router has reserved it for this connection). */
  claiming(name: string, claimId: string): void {
    this.name = name;
    this.claimId = claimId;
  }

  /** This login resumes a peer held on another node: relays to its name are parked here until it is decided. */
  beginResume(): void {
    this.resumeHold().resuming = true;
  }

  /** LoggingIn → Open: the login was refused; held messages run. */
  refuseLogin(reason: `${LoginFailure}`, message: string): void {
    if (this.currentState !== ConnectionState.LoggingIn) return;
    this.currentState = ConnectionState.Open;
    // Relays held for a resume that was refused are not this connection's: on to the name's holder.
    const parked = this.hold?.take();
    this.hold = undefined;
    this.calls = undefined;
    if (parked !== undefined) this.host.router.reroute(this.name, parked);
    this.name = undefined as unknown as string;
    this.claimId = '';
    this.refuse(reason, message);
    this.drainPending();
  }

  /** LoggingIn → Open without a reply (the login ended without a decision, e.g. nothing to claim). */
  endLogin(): void {
    if (this.currentState !== ConnectionState.LoggingIn) return;
    this.currentState = ConnectionState.Open;
    this.drainPending();
  }

  /**
   * LoggingIn → Joined under the name being claimed; sends `reply` (the login
   * success), then what was parked for the peer it resumes, then the messages
   * it sent while logging in.
   */
  join(token: string, data: unknown, reply: string, resumable: boolean): void {
    if (this.currentState !== ConnectionState.LoggingIn) return;
    this.resumable = resumable;
    this.currentState = ConnectionState.Joined;
    this.encodedName = undefined;
    this.relaySuffix = undefined;
    this.token = token;
    this.data = data;
    this.joinedAt = Date.now();
    this.view = undefined;
    const phase = this.login;
    if (phase !== undefined) {
      phase.request = undefined;
      phase.clearTimer();
    }
    this.host.counters.logins++;
    try {
      this.transport.joined?.();
    } catch (error) {
      // The login stands: a transport's bookkeeping failing is reported, not the client's problem.
      this.host.reportError(new TransportError('The transport failed on joined()', error));
    }
    this.send(reply);
    const hold = this.hold;
    // Decided: what the resume needed goes (an idle peer keeps no hold).
    this.hold = undefined;
    const predecessor = hold?.predecessor;
    if (predecessor?.parked !== undefined) for (const parked of predecessor.parked) this.send(parked.frame);
    // Relays parked while a resume from another node was being decided come after the held ones.
    const own = hold?.take();
    if (own !== undefined) {
      this.countHeld(own);
      for (const parked of own) this.send(parked.frame);
    }
    armIceRefresh(this, this.host);
    if (predecessor === undefined) this.host.joined(this);
    else this.host.resumed(this, predecessor.view);
    this.drainPending();
    // Decided, and nothing held is left: the login phase goes (an idle peer keeps none).
    if (this.currentState === ConnectionState.Joined && this.login?.empty === true) this.login = undefined;
  }

  /**
   * Hands this peer's name, calls and parked relays to `successor` (a login
   * with the resume token): nobody hears `leave`. If this connection is still
   * open it is closed with 4409.
   */
  handOver(successor: Connection): void {
    const state = this.currentState;
    if (state !== ConnectionState.Joined && state !== ConnectionState.Dropped) return;
    this.currentState = ConnectionState.Closed;
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
  private drop(code: number | undefined): void {
    this.currentState = ConnectionState.Dropped;
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
    this.currentState = ConnectionState.Transferring;
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
      this.currentState = transfer.state;
      if (transfer.state === ConnectionState.Dropped) this.armGrace(transfer.graceEnds);
      else if (hold!.settled) this.hold = undefined;
      return;
    }
    this.currentState = ConnectionState.Closed;
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
  private countHeld(parked: readonly Parked[]): void {
    const relays = this.host.counters.relays;
    for (const { kind } of parked) if (kind !== 'message') relays[kind].local++;
  }

  /** Relays parked for a resume that did not happen: their senders hear `peer-gone`. */
  private abandonParked(): void {
    const parked = this.hold?.take();
    if (parked !== undefined) this.host.router.expired(this, parked);
  }

  /**
   * Parks a frame for this dropped (or resuming) peer; false when its bounds
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

  /** Closes the connection from the hub's side and releases what it held (a dropped peer's reservation too). */
  close(code: number, reason: string, why: LeaveReason): void {
    const state = this.currentState;
    if (state === ConnectionState.Closed) return;
    const open =
      state === ConnectionState.Transferring
        ? this.hold?.transfer?.state !== ConnectionState.Dropped
        : state !== ConnectionState.Dropped;
    this.release(why, code);
    if (open) this.closeTransport(code, reason);
  }

  private closeTransport(code: number, reason: string): void {
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

  /** → Closed: releases the name, the timers and what was held. Idempotent. */
  private release(why: LeaveReason, code: number | undefined): void {
    const previous = this.currentState;
    if (previous === ConnectionState.Closed) return;
    this.currentState = ConnectionState.Closed;
    this.clearTimers();
    if (previous === ConnectionState.LoggingIn && this.resuming) {
      // Not this connection's to lose: its resume may lose to another login (or be refused), so the
      // name's holder, wherever it is, gets them; if this resume wins after all, the grant's end tells their senders.
      const parked = this.hold?.take();
      if (parked !== undefined) this.host.router.reroute(this.name, parked);
    }
    this.login = undefined;
    this.hold = undefined;
    // A dropped peer's close was counted when it dropped.
    if (previous !== ConnectionState.Dropped && previous !== ConnectionState.Transferring)
      HubCounters.bump(this.host.counters.closes, code === undefined ? 'none' : String(code));
    this.host.left(this, why, code, previous >= ConnectionState.Joined);
  }

  private clearTimers(): void {
    this.login?.clearTimer();
    stopIceRefresh(this);
    this.hold?.clearGrace();
  }

  // --- What the host sees ---

  /** The read-only view of this peer for the host (made once per login, on first use). */
  peer(): Peer {
    return (this.view ??= Object.freeze({
      id: this.id,
      name: this.name,
      data: this.data,
      remoteAddress: this.remoteAddress,
      node: this.host.nodeId,
      joinedAt: this.joinedAt,
    }));
  }

  /** Bytes queued to this connection and not yet written, when the transport can tell. */
  get queuedBytes(): number {
    return this.transport.bufferedAmount ?? 0;
  }

  // --- Sending ---

  /** Sends a reply (login, error): always written; a queue that stays over the limit closes the connection. */
  send(frame: string | Uint8Array): void {
    this.write(frame);
    if (overLimit(this.transport.bufferedAmount, this.host.options.maxBufferedBytes)) this.congested();
  }

  /**
   * Delivers a relayed frame unless the connection is congested (see
   * `backpressure.ts`): then it is dropped (the caller tells the sender
   * `peer-congested`) and returns false.
   */
  deliver(frame: string | Uint8Array): boolean {
    if (overLimit(this.transport.bufferedAmount, this.host.options.maxBufferedBytes)) {
      this.congested();
      return false;
    }
    this.congestedSince = 0;
    this.write(frame);
    return true;
  }

  private write(frame: string | Uint8Array): void {
    this.host.counters.bytesOut += typeof frame === 'string' ? utf8Length(frame) : frame.length;
    this.transport.send(frame);
  }

  private congested(): void {
    if (stillCongested(this, this.host.options.slowConsumerTimeout)) {
      this.close(CloseCode.SlowConsumer, 'too much data queued: the client is not reading', 'slow-consumer');
    }
  }

  /** Replies with an `error` and reports it to the host. */
  fail(code: `${ErrorCode}`, message: string, request?: string, target?: string): void {
    this.send(encodeError(code, message, request, target));
    this.host.protocolError(this, code, message);
  }

  /** Replies with a refused login and reports it to the host. */
  refuse(reason: `${LoginFailure}`, message: string): void {
    HubCounters.bump(this.host.counters.loginRefusals, reason);
    this.send(encodeLoginRefused(reason, message));
    this.host.protocolError(this, reason, message);
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

  // --- Receiving ---

  private admit(): boolean {
    switch (this.limiter!.admit(Date.now())) {
      case Admission.Accept:
        return true;
      case Admission.RejectFirst:
        this.fail(ErrorCode.RateLimited, 'Too many messages: this one and the next ones are dropped until the rate falls');
        return false;
      case Admission.Reject:
        return false;
      case Admission.Disconnect:
        this.close(CloseCode.TooManyMessages, 'rate limit exceeded', 'rate-limited');
        return false;
    }
  }

  /** Runs the messages held during a login, until one starts another login. */
  private drainPending(): void {
    const phase = this.login;
    if (phase === undefined) return;
    const max = this.host.options.maxMessageBytes;
    while (this.currentState !== ConnectionState.LoggingIn && this.currentState !== ConnectionState.Closed) {
      const message = phase.next();
      if (message === undefined) return;
      dispatchInbound(this, message, max);
    }
  }
}
