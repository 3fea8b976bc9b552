import { CloseCode } from '../protocol/close-codes.js';
import {
  encodeError,
  encodeLoginRefused,
  encodeRelay,
  encodeRelayBytes,
  encodeRelaySuffix,
  encodeRelaySuffixText,
  relayPrefixBytes,
} from '../protocol/encode.js';
import { ErrorCode, type LoginFailure } from '../protocol/error-codes.js';
import type { RelayType } from '../protocol/messages.js';
import type { RoomRequestType } from '../protocol/rooms.js';
import { type RelayScan, targetIs, targetOf } from '../protocol/relay-scan.js';
import { utf8Length } from '../protocol/utf8.js';
import { overLimit, stillCongested } from './backpressure.js';
import type { ConnectionHost as Host } from './connection-host.js';
import { ConnectionState } from './connection-state.js';
import { TransportError } from './errors.js';
import { armIceRefresh, stopIceRefresh } from './ice-refresh.js';
import { type InboundSink, dispatchInbound, textBytes } from './inbound.js';
import { LoginPhase } from './login-phase.js';
import type { LeaveReason, Peer } from './peer.js';
import { admitMessage } from './rate-limiter.js';
import { ResumableConnection } from './resumable-connection.js';
import { meansToComeBack } from './resume-hold.js';
import { HubCounters } from './stats.js';
import type { Transport, TransportSession, UpgradeRequest } from './transport.js';

export { ConnectionState, type Parked, type PartnerNode } from './connection-state.js';

/** The hub's side of a connection (see `connection-host.ts`). */
export type ConnectionHost = Host<Connection>;

/**
 * The frame {@link Connection.relayText} is relaying and its UTF-8 length, set only during
 * that call (equal text has equal length, so a match is always right).
 */
let builtFrame: string | undefined;
let builtBytes = 0;

/**
 * One client connection: its state machine, its name, its login, what it
 * receives and what it sends. What only some connections need lives in side
 * objects made on demand (the login phase, the resume hold), so an idle
 * logged-in peer pays one field for each; its calls, the drop and the
 * hand-over to a resume are in `resumable-connection.ts`, parsing in
 * `inbound.ts`, backpressure in `backpressure.ts`, the ICE refresh in
 * `ice-refresh.ts`. What crosses connections goes through the routes. Only
 * the connection's own methods change its state.
 */
export class Connection extends ResumableConnection implements TransportSession, InboundSink {
  /** The base's host, typed for this class: the routes hand back `Connection`s (no field of its own). */
  declare protected readonly host: ConnectionHost;
  /** The name held or being claimed (set from the claim on; `undefined` before). */
  name: string = undefined as unknown as string;
  /** The name JSON-encoded, made on first use (an idle peer never needs it). */
  private encodedName: string | undefined;
  /** `,"name":<nameJson>}` as UTF-8, made on the first byte-path relay (idle peers never need it). */
  private relaySuffix: Uint8Array | undefined;
  /** The same suffix as text, made on the first text relay of the standard shape. */
  private relaySuffixText: string | undefined;
  /**
   * The local peer this one last relayed to: candidates trickle to one peer, so the next relay
   * usually goes there too and needs no name decoding or lookup. Still joined means it still
   * holds that name (a name changes holder only through a new connection). Weak, so a peer
   * that left is not kept in memory by those that talked to it. For a peer elsewhere (on
   * another node, or none), its name: the next relay to it reuses that string, with its hash.
   */
  private lastTarget: WeakRef<Connection> | string | undefined;
  /** Id of this login's cluster claim: a late release of an earlier login never frees a later one. */
  claimId = '';
  /** Resume token of the current login: sent in the login reply, compared on a take-over, shown nowhere else. */
  token = '';
  private joinedAt = 0;
  /** The rate limiter's tokens and when they were counted (see `admitMessage`: two numbers, no object). */
  rateTokens: number;
  rateAt: number;

  constructor(
    host: ConnectionHost,
    readonly id: number,
    transport: Transport,
    readonly remoteAddress: string | undefined,
  ) {
    super(host, transport);
    const limit = host.options.rateLimit;
    this.rateTokens = limit === false ? 0 : limit.burst;
    this.rateAt = Date.now();
  }

  /** While the connection is being established: held messages, the login timer, the request. */
  private get login(): LoginPhase | undefined {
    return this.extras?.login;
  }

  /** The ICE refresh's timer (see `ice-refresh.ts`). */
  get iceTimer(): ReturnType<typeof setTimeout> | undefined {
    return this.extras?.iceTimer;
  }

  set iceTimer(timer: ReturnType<typeof setTimeout> | undefined) {
    this.setExtra('iceTimer', timer);
  }

  /** The name JSON-encoded once, for building relayed frames and room messages. */
  get nameJson(): string {
    return (this.encodedName ??= JSON.stringify(this.name));
  }

  /** Whether it is logged in. */
  get joined(): boolean {
    return this.currentState === ConnectionState.Joined;
  }

  /** The upgrade request, held only until login: the host's `authenticate` may read it. */
  get request(): UpgradeRequest | undefined {
    return this.login?.request;
  }

  // --- TransportSession: what the adapter calls ---

  receive(message: string | Uint8Array): void {
    if (this.currentState >= ConnectionState.Dropped) return;
    // Text is encoded once, for the count and the scan (valid until the next message: nothing below receives one).
    const bytes = typeof message === 'string' ? textBytes(message) : message;
    this.host.counters.bytesIn += bytes !== undefined ? bytes.length : utf8Length(message as string);
    if (!admitMessage(this, this.host.options.rateLimit)) return;
    if (this.currentState === ConnectionState.LoggingIn) {
      const { maxPendingMessages, maxPendingBytes } = this.host.options;
      if (!this.login!.hold(message, maxPendingMessages, maxPendingBytes))
        this.fail(ErrorCode.LoginPending, 'Too many messages while the login is being decided: wait for the login reply');
      return;
    }
    dispatchInbound(this, message, this.host.options.maxMessageBytes, bytes);
  }

  receiveBinary(): void {
    if (this.currentState >= ConnectionState.Dropped) return;
    if (!admitMessage(this, this.host.options.rateLimit)) return;
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
    const frame = encodeRelayBytes(type, message, scan.payloadStart, scan.payloadEnd, suffix, scan.standard === true);
    const previous = this.lastTarget;
    const last = typeof previous === 'object' ? previous.deref() : undefined;
    if (last !== undefined && last.currentState === ConnectionState.Joined && targetIs(message, scan, last.name)) {
      router.relayLocal(this, type, last, frame);
    } else {
      const name = typeof previous === 'string' && targetIs(message, scan, previous) ? previous : targetOf(message, scan);
      const target = router.relay(this, type, name, frame);
      this.lastTarget = target === undefined ? name : new WeakRef(target);
    }
  }

  /**
   * The relay hot path for text transports: a well-formed ASCII relay, its frame built as
   * text from the message's own slices (no decoding, and Bun's `sendText` takes it as it is).
   */
  relayText(message: string, scan: RelayScan): void {
    const router = this.host.router;
    const type = scan.type;
    const payloadStart = scan.payloadStart;
    const payloadEnd = scan.payloadEnd;
    // Its UTF-8 length is known (ASCII up to the payload's end, then the suffix): delivering it counts that, no second encode.
    const suffixBytes = (this.relaySuffix ??= encodeRelaySuffix(this.nameJson)).length;
    let frame: string;
    if (scan.standard === true) {
      // The message starts with the frame's prefix: two parts (its start, the suffix), not four.
      frame = message.slice(0, payloadEnd) + (this.relaySuffixText ??= encodeRelaySuffixText(this.nameJson));
      builtBytes = payloadEnd + suffixBytes;
    } else {
      frame = encodeRelay(type, message.slice(payloadStart, payloadEnd), this.nameJson);
      builtBytes = relayPrefixBytes[type].length + payloadEnd - payloadStart + suffixBytes;
    }
    builtFrame = frame;
    const start = scan.targetStart;
    const previous = this.lastTarget;
    const last = typeof previous === 'object' ? previous.deref() : undefined;
    if (
      last !== undefined &&
      last.currentState === ConnectionState.Joined &&
      scan.targetEnd - start === last.name.length &&
      message.startsWith(last.name, start)
    ) {
      router.relayLocal(this, type, last, frame);
    } else {
      const target = router.relay(this, type, message.slice(start, scan.targetEnd), frame);
      this.lastTarget = target === undefined ? undefined : new WeakRef(target);
    }
    builtFrame = undefined;
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
    const phase = new LoginPhase(request);
    this.setExtra('login', phase);
    if (loginTimeout > 0) phase.armTimer(loginTimeout, () => this.close(CloseCode.LoginTimeout, 'no login in time', 'closed'));
  }

  /** Open → LoggingIn: later messages are held until the login is decided. */
  beginLogin(): void {
    if (this.currentState !== ConnectionState.Open) return;
    this.enter(ConnectionState.LoggingIn);
    // Opened without a login timeout or a request, it has had no login phase until now.
    if (this.login === undefined) this.setExtra('login', new LoginPhase(undefined));
  }

  /** The login is claiming `name` under `claimId` (the router has reserved it for this connection). */
  claiming(name: string, claimId: string): void {
    this.name = name;
    this.claimId = claimId;
  }

  /** LoggingIn → Open: the login was refused; held messages run. */
  refuseLogin(reason: `${LoginFailure}`, message: string): void {
    if (this.currentState !== ConnectionState.LoggingIn) return;
    this.enter(ConnectionState.Open);
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
    this.enter(ConnectionState.Open);
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
    this.enter(ConnectionState.Joined);
    this.encodedName = undefined;
    this.relaySuffix = undefined;
    this.relaySuffixText = undefined;
    this.token = token;
    this.joinedAt = Date.now();
    this.setExtra('view', undefined);
    this.setExtra('data', data);
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
    // Relays parked while a resume from another node was being decided (or while the claim's answer was on
    // its way) come after the held ones.
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
    if (this.state === ConnectionState.Joined && this.login?.empty === true) this.setExtra('login', undefined);
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

  /** → Closed: releases the name, the timers and what was held. Idempotent. */
  protected override release(why: LeaveReason, code: number | undefined): void {
    const previous = this.currentState;
    if (previous === ConnectionState.Closed) return;
    this.enter(ConnectionState.Closed);
    this.clearTimers();
    if (previous === ConnectionState.LoggingIn && this.resuming) {
      // Not this connection's to lose: its resume may lose to another login (or be refused), so the
      // name's holder, wherever it is, gets them; if this resume wins after all, the grant's end tells their senders.
      const parked = this.hold?.take();
      if (parked !== undefined) this.host.router.reroute(this.name, parked);
    }
    this.setExtra('login', undefined);
    this.hold = undefined;
    // A dropped peer's close was counted when it dropped.
    if (previous !== ConnectionState.Dropped && previous !== ConnectionState.Transferring)
      HubCounters.bump(this.host.counters.closes, code === undefined ? 'none' : String(code));
    this.host.left(this, why, code, previous >= ConnectionState.Joined);
  }

  protected override clearTimers(): void {
    this.login?.clearTimer();
    stopIceRefresh(this);
    this.hold?.clearGrace();
  }

  // --- What the host sees ---

  /** The read-only view of this peer for the host (made once per login, on first use). */
  override peer(): Peer {
    let view = this.extras?.view;
    if (view === undefined) {
      view = Object.freeze({
        id: this.id,
        name: this.name,
        data: this.extras?.data,
        remoteAddress: this.remoteAddress,
        node: this.host.nodeId,
        joinedAt: this.joinedAt,
      });
      this.setExtra('view', view);
    }
    return view;
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
    this.host.counters.bytesOut +=
      typeof frame !== 'string' ? frame.length : frame === builtFrame ? builtBytes : utf8Length(frame);
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

  // --- Receiving ---

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
