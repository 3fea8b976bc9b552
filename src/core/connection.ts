import { limitCloseReason } from '../protocol/close-reason.js';
import { CloseCode } from '../protocol/close-codes.js';
import {
  encodeError,
  encodeIceServers,
  encodeLoginRefused,
  encodeRelay,
  encodeRelayBytes,
  encodeRelaySuffix,
} from '../protocol/encode.js';
import { ErrorCode, type LoginFailure } from '../protocol/error-codes.js';
import type { RelayType } from '../protocol/messages.js';
import { type RelayScan, scanRelay, targetIs, targetOf } from '../protocol/relay-scan.js';
import { decodeUtf8, utf8Length } from '../protocol/utf8.js';
import { HookError, TransportError } from './errors.js';
import type { IceServerSource } from './ice-servers.js';
import type { ResumeGrant } from './backplane.js';
import type { ResolvedHubOptions } from './options.js';
import type { LeaveReason, Peer } from './peer.js';
import { Admission, type RateLimiter } from './rate-limiter.js';
import type { Router } from './router.js';
import { HubCounters } from './stats.js';
import type { Transport, TransportSession, UpgradeRequest } from './transport.js';

export enum ConnectionState {
  /** Connected, not logged in. */
  Open,
  /** A login is being decided; messages wait in `pending`. */
  LoggingIn,
  /** Logged in. */
  Joined,
  /**
   * The transport is gone without a clean goodbye, and the login asked to be
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

/**
 * What a connection needs from its hub, and nothing more: the hub's options,
 * the router, the counters, and the hub's side of logins, departures and
 * reports. The hub builds one per hub; connections never see the hub itself.
 */
export interface ConnectionHost {
  readonly options: ResolvedHubOptions;
  readonly router: Router;
  readonly counters: HubCounters;
  /** The backplane's node id, for peer views. */
  readonly nodeId: string | undefined;
  /** Whether logins are refused (the hub is closing or draining). */
  closing(): boolean;
  /** A claim id unique in this process. */
  nextClaimId(): string;
  /** Where peers' ICE servers come from, when the hub hands them out. */
  readonly iceServerSource: IceServerSource | undefined;
  /** Runs the login flow for a login message. */
  login(connection: Connection, message: Record<string, unknown>): void;
  /** A login succeeded: emit `peer-joined`. */
  joined(connection: Connection): void;
  /** A resumable peer's transport is gone: its name is reserved until `expiresAt`. */
  dropped(connection: Connection, code: number | undefined, expiresAt: number): void;
  /** A new connection took over this one's name, calls and parked relays (nothing is released). */
  handedOver(connection: Connection): void;
  /** A resume succeeded: `previous` is the peer as it was. */
  resumed(connection: Connection, previous: Peer): void;
  /** A connection is gone; `wasJoined` tells whether it held a name (partners hear `leave`, `peer-left` is emitted). */
  left(connection: Connection, why: LeaveReason, code: number | undefined, wasJoined: boolean): void;
  protocolError(connection: Connection, code: `${ErrorCode}` | `${LoginFailure}`, message: string): void;
  reportError(error: unknown): void;
}

/** What a connection keeps only while a login is in progress. */
interface LoginState {
  request: UpgradeRequest | undefined;
  pending: Uint8Array[] | undefined;
  pendingBytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** What a connection keeps only while it is dropped, handed over or resuming another node's peer. */
interface ResumeState {
  parked: Parked[] | undefined;
  parkedBytes: number;
  graceTimer: ReturnType<typeof setTimeout> | undefined;
  graceEnds: number;
  predecessor: { parked: readonly Parked[] | undefined; view: Peer } | undefined;
  transfer: { state: ConnectionState.Joined | ConnectionState.Dropped; graceEnds: number } | undefined;
  resuming: boolean;
}

/** Reused by every relay that takes the fast path (nothing in between can re-enter it). */
const scanned: RelayScan = { type: 'candidate', targetStart: 0, targetEnd: 0, payloadStart: 0, payloadEnd: 0 };

const utf8 = new TextEncoder();

/** Partner node of a call: `null` when the partner is on this node. */
export type PartnerNode = string | null;

/**
 * One client connection: its state, its name, its calls. Parsing and
 * dispatch happen here; what crosses connections goes through the router.
 * Only the connection's own methods change its state.
 */
export class Connection implements TransportSession {
  private currentState = ConnectionState.Open;
  /** The name held or being claimed (set from the claim on; `undefined` before). */
  name: string = undefined as unknown as string;
  /** The name JSON-encoded once, for building relayed frames. */
  nameJson = '';
  /** `,"name":<nameJson>}` as UTF-8, made on the first fast-path relay (idle peers never need it). */
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
  partners: Map<string, PartnerNode> | undefined;

  /** When the transport's queue was first seen over `maxBufferedBytes` (0: it is not). */
  private congestedSince = 0;
  /** Pushes fresh ICE servers (TURN credentials) before the last ones expire. */
  private iceTimer: ReturnType<typeof setTimeout> | undefined;
  /** The login asked for resumption (`"resume":true`): a drop reserves the name instead of releasing it. */
  resumable = false;
  /** What only a login in progress needs; dropped once it is decided (an idle peer pays one field). */
  private ls: LoginState | undefined;
  /** What only a dropped, transferring or resuming peer needs (an idle peer pays one field). */
  private rs: ResumeState | undefined;

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

  // --- Rare state, kept in the two side objects (accessors cost no memory per connection) ---

  /** Held only until login: the host's `authenticate` may read it. */
  get request(): UpgradeRequest | undefined {
    return this.ls?.request;
  }
  set request(request: UpgradeRequest | undefined) {
    if (request !== undefined || this.ls !== undefined) this.login.request = request;
  }
  /** Messages that arrived while a login was being decided: compact copies, bounded in count and bytes. */
  private get pending(): Uint8Array[] | undefined {
    return this.ls?.pending;
  }
  private set pending(pending: Uint8Array[] | undefined) {
    if (pending !== undefined || this.ls !== undefined) this.login.pending = pending;
  }
  private get pendingBytes(): number {
    return this.ls?.pendingBytes ?? 0;
  }
  private set pendingBytes(bytes: number) {
    if (bytes !== 0 || this.ls !== undefined) this.login.pendingBytes = bytes;
  }
  private get loginTimer(): ReturnType<typeof setTimeout> | undefined {
    return this.ls?.timer;
  }
  private set loginTimer(timer: ReturnType<typeof setTimeout> | undefined) {
    if (timer !== undefined || this.ls !== undefined) this.login.timer = timer;
  }
  private get login(): LoginState {
    return (this.ls ??= { request: undefined, pending: undefined, pendingBytes: 0, timer: undefined });
  }

  /** Relays for this peer while it is dropped, in order; taken over by the connection that resumes it. */
  private get parked(): Parked[] | undefined {
    return this.rs?.parked;
  }
  private set parked(parked: Parked[] | undefined) {
    if (parked !== undefined || this.rs !== undefined) this.resume.parked = parked;
  }
  private get parkedBytes(): number {
    return this.rs?.parkedBytes ?? 0;
  }
  private set parkedBytes(bytes: number) {
    if (bytes !== 0 || this.rs !== undefined) this.resume.parkedBytes = bytes;
  }
  private get graceTimer(): ReturnType<typeof setTimeout> | undefined {
    return this.rs?.graceTimer;
  }
  private set graceTimer(timer: ReturnType<typeof setTimeout> | undefined) {
    if (timer !== undefined || this.rs !== undefined) this.resume.graceTimer = timer;
  }
  private get graceEnds(): number {
    return this.rs?.graceEnds ?? 0;
  }
  private set graceEnds(ends: number) {
    if (ends !== 0 || this.rs !== undefined) this.resume.graceEnds = ends;
  }
  /** The connection this one resumes, between its takeover and the login reply. */
  private get predecessor(): ResumeState['predecessor'] {
    return this.rs?.predecessor;
  }
  private set predecessor(predecessor: ResumeState['predecessor']) {
    if (predecessor !== undefined || this.rs !== undefined) this.resume.predecessor = predecessor;
  }
  /** While transferring: the state to return to if the move fails, and when the grace would have ended. */
  private get transfer(): ResumeState['transfer'] {
    return this.rs?.transfer;
  }
  private set transfer(transfer: ResumeState['transfer']) {
    if (transfer !== undefined || this.rs !== undefined) this.resume.transfer = transfer;
  }
  /**
   * Logging in to resume a peer held on another node: relays from this node to the name are
   * parked here until the grant arrives, so none is lost (they follow the grant's held ones).
   */
  get resuming(): boolean {
    return this.rs?.resuming === true;
  }
  set resuming(resuming: boolean) {
    if (resuming || this.rs !== undefined) this.resume.resuming = resuming;
  }
  private get resume(): ResumeState {
    return (this.rs ??= {
      parked: undefined,
      parkedBytes: 0,
      graceTimer: undefined,
      graceEnds: 0,
      predecessor: undefined,
      transfer: undefined,
      resuming: false,
    });
  }

  // --- TransportSession: what the adapter calls ---

  receive(message: string | Uint8Array): void {
    if (this.currentState >= ConnectionState.Dropped) return;
    this.host.counters.bytesIn += typeof message === 'string' ? utf8Length(message) : message.length;
    if (this.limiter !== undefined && !this.admit()) return;
    if (this.currentState === ConnectionState.LoggingIn) {
      this.hold(message);
      return;
    }
    this.handle(message);
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
      if (this.transfer?.state === ConnectionState.Joined)
        this.transfer = { state: ConnectionState.Dropped, graceEnds: Date.now() + this.host.options.resumeGrace };
      return;
    }
    // A close frame with 1000/1001 is a goodbye (a tab closed); anything else may be a blip.
    if (
      state === ConnectionState.Joined &&
      this.resumable &&
      this.host.options.resumeGrace > 0 &&
      code !== 1000 &&
      code !== 1001
    ) {
      this.drop(code);
      return;
    }
    this.release('closed', code);
  }

  // --- Life cycle: the only places the state changes ---

  /** Arms the login timeout (the hub calls it once, right after creating the connection). */
  armLoginTimeout(ms: number): void {
    if (ms > 0) this.loginTimer = setTimeout(() => this.close(CloseCode.LoginTimeout, 'no login in time', 'closed'), ms);
  }

  /** Open → LoggingIn: later messages are held until the login is decided. */
  beginLogin(): void {
    if (this.currentState === ConnectionState.Open) this.currentState = ConnectionState.LoggingIn;
  }

  /** The login is claiming `name` under `claimId` (the router has reserved it for this connection). */
  claiming(name: string, claimId: string): void {
    this.name = name;
    this.claimId = claimId;
  }

  /** LoggingIn → Open: the login was refused; held messages run. */
  refuseLogin(reason: `${LoginFailure}`, message: string): void {
    if (this.currentState !== ConnectionState.LoggingIn) return;
    this.currentState = ConnectionState.Open;
    this.resuming = false;
    this.abandonParked();
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
    this.nameJson = JSON.stringify(this.name);
    this.relaySuffix = undefined;
    this.token = token;
    this.data = data;
    this.joinedAt = Date.now();
    this.view = undefined;
    this.request = undefined;
    this.clearLoginTimer();
    this.host.counters.logins++;
    this.send(reply);
    const predecessor = this.predecessor;
    this.predecessor = undefined;
    this.resuming = false;
    if (predecessor?.parked !== undefined) for (const parked of predecessor.parked) this.send(parked.frame);
    // Relays parked while a resume from another node was being decided come after the held ones.
    const own = this.parked;
    this.parked = undefined;
    this.parkedBytes = 0;
    if (own !== undefined) for (const parked of own) this.send(parked.frame);
    this.armIceRefresh();
    if (predecessor === undefined) this.host.joined(this);
    else this.host.resumed(this, predecessor.view);
    this.drainPending();
    // Decided, and nothing held is left: the login's side object goes (an idle peer keeps none).
    if (this.currentState === ConnectionState.Joined && (this.pending === undefined || this.pending.length === 0))
      this.ls = undefined;
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
    successor.partners = this.partners;
    successor.predecessor = { parked: this.parked, view: this.peer() };
    this.partners = undefined;
    this.parked = undefined;
    this.parkedBytes = 0;
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
    const grace = this.host.options.resumeGrace;
    this.armGrace(Date.now() + grace);
    this.host.dropped(this, code, Date.now() + grace);
  }

  private armGrace(ends: number): void {
    this.graceEnds = ends;
    this.graceTimer = setTimeout(() => this.expire(), Math.max(0, ends - Date.now()));
  }

  /**
   * Joined or Dropped → Transferring, for a resume on node `nodeId`'s peer:
   * returns what the resuming node takes over (held relays and partners, with
   * node ids filled in for this node).
   */
  beginTransfer(nodeId: string): ResumeGrant | undefined {
    const state = this.currentState;
    if (state !== ConnectionState.Joined && state !== ConnectionState.Dropped) return undefined;
    this.transfer = { state, graceEnds: this.graceEnds };
    this.currentState = ConnectionState.Transferring;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const decoder = new TextDecoder();
    const parked = (this.parked ?? []).map((entry) => ({
      kind: entry.kind,
      from: entry.from,
      fromNode: entry.fromNode ?? nodeId,
      to: this.name,
      frame: typeof entry.frame === 'string' ? entry.frame : decoder.decode(entry.frame),
    }));
    const partners: Array<readonly [string, string]> = [];
    for (const [name, node] of this.partners ?? []) partners.push([name, node ?? nodeId]);
    const { id, remoteAddress, joinedAt } = this.peer();
    return { previous: { id, name: this.name, remoteAddress, node: nodeId, joinedAt }, parked, partners };
  }

  /** The transfer ended: the name moved (this connection goes without `leave`) or it did not (back as it was). */
  settleTransfer(committed: boolean): void {
    const transfer = this.transfer;
    if (this.currentState !== ConnectionState.Transferring || transfer === undefined) return;
    this.transfer = undefined;
    if (!committed) {
      this.currentState = transfer.state;
      if (transfer.state === ConnectionState.Dropped) this.armGrace(transfer.graceEnds);
      return;
    }
    this.currentState = ConnectionState.Closed;
    this.clearTimers();
    this.partners = undefined;
    this.parked = undefined;
    this.parkedBytes = 0;
    this.host.handedOver(this);
    if (transfer.state === ConnectionState.Joined) {
      HubCounters.bump(this.host.counters.closes, String(CloseCode.Replaced));
      this.closeTransport(CloseCode.Replaced, 'resumed on another node');
    }
  }

  /** Before `join()`: this login resumes a peer that another node handed over. */
  resumeFrom(grant: ResumeGrant, localNode: string): void {
    this.partners = new Map(grant.partners.map(([name, node]) => [name, node === localNode ? null : node]));
    const parked = grant.parked.map((entry) => ({
      frame: entry.frame,
      from: entry.from,
      fromNode: entry.fromNode === localNode ? null : entry.fromNode,
      kind: entry.kind as Parked['kind'],
    }));
    this.predecessor = { parked, view: Object.freeze({ ...grant.previous, data: undefined }) };
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
    this.graceTimer = undefined;
    if (this.currentState !== ConnectionState.Dropped) return;
    const parked = this.parked;
    this.parked = undefined;
    this.parkedBytes = 0;
    if (parked !== undefined) this.host.router.expired(this, parked);
    this.release('resume-expired', undefined);
  }

  /** Relays parked for a resume that did not happen: their senders hear `peer-gone`. */
  private abandonParked(): void {
    const parked = this.parked;
    this.parked = undefined;
    this.parkedBytes = 0;
    if (parked !== undefined) this.host.router.expired(this, parked);
  }

  /** Parks a frame for this dropped peer; false when its bounds are reached (a `leave` always fits). */
  park(frame: string | Uint8Array, from: string, fromNode: string | null, kind: Parked['kind']): boolean {
    const size = frame.length;
    const { resumeMaxMessages, resumeMaxBytes } = this.host.options;
    const parked = (this.parked ??= []);
    if (kind !== 'leave' && (parked.length >= resumeMaxMessages || this.parkedBytes + size > resumeMaxBytes)) return false;
    // Fast-path frames live in a reused buffer: keep a copy.
    parked.push({ frame: typeof frame === 'string' ? frame : frame.slice(), from, fromNode, kind });
    this.parkedBytes += size;
    return true;
  }

  private armIceRefresh(): void {
    const after = this.host.iceServerSource?.refreshAfter;
    if (after === undefined) return;
    this.iceTimer = setTimeout(() => this.refreshIce(), after);
    // A pending refresh must not keep a host process alive.
    (this.iceTimer as { unref?: () => void }).unref?.();
  }

  private refreshIce(): void {
    this.iceTimer = undefined;
    this.host.iceServerSource!.servers(this.peer()).then(
      (servers) => {
        if (this.currentState !== ConnectionState.Joined) return;
        this.send(encodeIceServers(servers));
        this.armIceRefresh();
      },
      (error: unknown) => {
        if (this.currentState !== ConnectionState.Joined) return;
        this.host.reportError(new HookError('iceServers', error));
        this.armIceRefresh();
      },
    );
  }

  /** Closes the connection from the hub's side and releases what it held (a dropped peer's reservation too). */
  close(code: number, reason: string, why: LeaveReason): void {
    const state = this.currentState;
    if (state === ConnectionState.Closed) return;
    const open =
      state === ConnectionState.Transferring
        ? this.transfer?.state !== ConnectionState.Dropped
        : state !== ConnectionState.Dropped;
    this.transfer = undefined;
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
    if (previous === ConnectionState.LoggingIn && this.resuming) this.abandonParked();
    this.ls = undefined;
    this.rs = undefined;
    // A dropped peer's close was counted when it dropped.
    if (previous !== ConnectionState.Dropped && previous !== ConnectionState.Transferring)
      HubCounters.bump(this.host.counters.closes, code === undefined ? 'none' : String(code));
    this.host.left(this, why, code, previous >= ConnectionState.Joined);
  }

  private clearTimers(): void {
    this.clearLoginTimer();
    if (this.iceTimer !== undefined) clearTimeout(this.iceTimer);
    this.iceTimer = undefined;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  private clearLoginTimer(): void {
    if (this.loginTimer !== undefined) clearTimeout(this.loginTimer);
    this.loginTimer = undefined;
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
    const queued = this.transport.bufferedAmount;
    if (queued !== undefined && queued > this.host.options.maxBufferedBytes) this.congested();
  }

  /**
   * Delivers a relayed frame unless the connection's queue is over
   * `maxBufferedBytes`: then it is dropped (the caller tells the sender
   * `peer-congested`) and returns false. A fast sender thus never gets a
   * slow reader disconnected; only a queue that stays full does (4507).
   */
  deliver(frame: string | Uint8Array): boolean {
    const queued = this.transport.bufferedAmount;
    if (queued !== undefined && queued > this.host.options.maxBufferedBytes) {
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

  /** The queue is over the limit: close once it has stayed there for `slowConsumerTimeout`. */
  private congested(): void {
    const now = Date.now();
    if (this.congestedSince === 0) this.congestedSince = now;
    if (now - this.congestedSince >= this.host.options.slowConsumerTimeout) {
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

  /** Records a call partner (bounded by `maxCallsPerPeer`). */
  addPartner(name: string, node: PartnerNode): void {
    let partners = this.partners;
    if (partners === undefined) partners = this.partners = new Map();
    else if (partners.size >= this.host.options.maxCallsPerPeer && !partners.has(name)) return;
    partners.set(name, node);
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

  /**
   * Keeps a message until the login is decided. Copied compactly: the adapter
   * may reuse its buffer once receive() returns, and a slice would keep a whole
   * read buffer alive (a string could be a slice of a larger one too).
   */
  private hold(message: string | Uint8Array): void {
    const copy = typeof message === 'string' ? utf8.encode(message) : new Uint8Array(message);
    const held = (this.pending ??= []);
    const { maxPendingMessages, maxPendingBytes } = this.host.options;
    if (held.length >= maxPendingMessages || this.pendingBytes + copy.length > maxPendingBytes) {
      this.fail(ErrorCode.LoginPending, 'Too many messages while the login is being decided: wait for the login reply');
      return;
    }
    held.push(copy);
    this.pendingBytes += copy.length;
  }

  /** Runs the messages held during a login, until one starts another login. */
  private drainPending(): void {
    const held = this.pending;
    while (held !== undefined && held.length > 0 && this.currentState !== ConnectionState.LoggingIn) {
      if (this.currentState === ConnectionState.Closed) return;
      const message = held.shift()!;
      this.pendingBytes -= message.length;
      this.handle(message);
    }
  }

  private handle(message: string | Uint8Array): void {
    const { options, router } = this.host;
    if (message.length > options.maxMessageBytes) {
      this.fail(ErrorCode.MessageTooLarge, `Message too large: the limit is ${options.maxMessageBytes} bytes`);
      return;
    }
    if (typeof message === 'string') {
      this.parse(message);
      return;
    }
    // Well-formed relays are forwarded as bytes, without decoding or JSON; anything else, errors included, is parsed.
    if (this.currentState === ConnectionState.Joined && scanRelay(message, scanned)) {
      const type = scanned.type;
      const suffix = (this.relaySuffix ??= encodeRelaySuffix(this.nameJson));
      const frame = encodeRelayBytes(type, message, scanned.payloadStart, scanned.payloadEnd, suffix);
      const last = this.lastTarget?.deref();
      if (last !== undefined && last.state === ConnectionState.Joined && targetIs(message, scanned, last.name)) {
        router.relayLocal(this, type, last, frame);
      } else {
        const target = router.relay(this, type, targetOf(message, scanned), frame);
        this.lastTarget = target === undefined ? undefined : new WeakRef(target);
      }
      return;
    }
    this.parse(decodeUtf8(message));
  }

  private parse(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.fail(ErrorCode.InvalidJson, 'Invalid JSON: every message must be a JSON object');
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.fail(ErrorCode.InvalidMessage, 'Invalid message: expected a JSON object with a "type"');
      return;
    }
    const fields = message as Record<string, unknown>;
    const type = fields.type;
    switch (type) {
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'leave':
        this.relay(type, fields);
        return;
      case 'login':
        this.host.login(this, fields);
        return;
      case undefined:
        this.fail(ErrorCode.InvalidMessage, 'Invalid message: it has no "type"');
        return;
      default:
        if (typeof type !== 'string') {
          this.fail(ErrorCode.InvalidMessage, `Invalid message: "type" must be a string, got ${JSON.stringify(type)}`);
          return;
        }
        this.fail(ErrorCode.UnknownType, `Command not found: ${type}`, type);
    }
  }

  private relay(type: RelayType, fields: Record<string, unknown>): void {
    if (this.currentState !== ConnectionState.Joined) {
      this.fail(ErrorCode.NotLoggedIn, `Not logged in: log in before sending ${type}`, type);
      return;
    }
    const target = fields.name;
    if (typeof target !== 'string') {
      this.fail(ErrorCode.InvalidMessage, `Invalid ${type}: "name" must be the target peer's name`, type);
      return;
    }
    let payload = '';
    if (type !== 'leave') {
      const value = fields[type];
      if (value === undefined) {
        this.fail(ErrorCode.InvalidMessage, `Invalid ${type}: the "${type}" field is missing`, type, target);
        return;
      }
      payload = JSON.stringify(value);
    }
    this.host.router.relay(this, type, target, encodeRelay(type, payload, this.nameJson));
  }
}
