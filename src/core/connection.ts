import { CloseCode } from '../protocol/close-codes.js';
import { encodeError, encodeLoginRefused, encodeRelay, encodeRelayBytes, encodeRelaySuffix } from '../protocol/encode.js';
import { ErrorCode, type LoginFailure } from '../protocol/error-codes.js';
import type { RelayType } from '../protocol/messages.js';
import { type RelayScan, scanRelay, targetIs, targetOf } from '../protocol/relay-scan.js';
import { decodeUtf8 } from '../protocol/utf8.js';
import type { SignallingHub } from './hub.js';
import type { LeaveReason, Peer } from './peer.js';
import { Admission, type RateLimiter } from './rate-limiter.js';
import type { Transport, TransportSession, UpgradeRequest } from './transport.js';

export enum ConnectionState {
  /** Connected, not logged in. */
  Open,
  /** A login is being decided; messages wait in `pending`. */
  LoggingIn,
  /** Logged in. */
  Joined,
  /** Closed; everything it held is released. */
  Closed,
}

/** Reused by every relay that takes the fast path (nothing in between can re-enter it). */
const scanned: RelayScan = { type: 'candidate', targetStart: 0, targetEnd: 0, payloadStart: 0, payloadEnd: 0 };

/** Partner node of a call: `null` when the partner is on this node. */
export type PartnerNode = string | null;

/**
 * One client connection: its state, its name, its calls. Parsing and
 * dispatch happen here; what crosses connections goes through the hub's router.
 */
export class Connection implements TransportSession, Peer {
  state = ConnectionState.Open;
  name: string = undefined as unknown as string;
  /** The name JSON-encoded once, for building relayed frames. */
  nameJson = '';
  /** `,"name":<nameJson>}` as UTF-8, made on the first fast-path relay (idle peers never need it). */
  relaySuffix: Uint8Array | undefined;
  /**
   * The local peer this one last relayed to: candidates trickle to one peer, so the next relay
   * usually goes there too and needs no name decoding or lookup. Still joined means it still
   * holds that name (a name changes holder only through a new connection). Weak, so a peer
   * that left is not kept in memory by those that talked to it.
   */
  lastTarget: WeakRef<Connection> | undefined;
  /** Id of this login's cluster claim: a late release of an earlier login never frees a later one. */
  claimId = '';
  /** Resume token of the current login. */
  token = '';
  data: unknown = undefined;
  /** Held only until login: the host's `authenticate` may read it. */
  request: UpgradeRequest | undefined;
  /** Peers in a call with this one (offer/answer exchanged, no leave since). Created on the first call. */
  partners: Map<string, PartnerNode> | undefined;
  /** Messages that arrived while a login was being decided. */
  pending: Array<string | Uint8Array> | undefined;
  loginTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly hub: SignallingHub,
    readonly id: number,
    readonly transport: Transport,
    readonly remoteAddress: string | undefined,
    private readonly limiter: RateLimiter | undefined,
  ) {}

  receive(message: string | Uint8Array): void {
    if (this.state === ConnectionState.Closed) return;
    if (this.limiter !== undefined && !this.admit()) return;
    if (this.state === ConnectionState.LoggingIn) {
      this.hold(message);
      return;
    }
    this.handle(message);
  }

  receiveBinary(): void {
    if (this.state === ConnectionState.Closed) return;
    if (this.limiter !== undefined && !this.admit()) return;
    this.fail(ErrorCode.BinaryNotSupported, 'Binary frames are not supported: send JSON text');
  }

  closed(code?: number): void {
    if (this.state === ConnectionState.Closed) return;
    this.hub.release(this, 'closed', code);
  }

  /** Closes the connection from the hub's side and releases what it held. */
  close(code: number, reason: string, why: LeaveReason): void {
    if (this.state === ConnectionState.Closed) return;
    this.hub.release(this, why, code);
    this.transport.close(code, reason);
  }

  /** Sends a frame; closes the connection if the frame piles up unread. */
  send(frame: string | Uint8Array): void {
    const transport = this.transport;
    transport.send(frame);
    const queued = transport.bufferedAmount;
    if (queued !== undefined && queued > this.hub.options.maxBufferedBytes) {
      this.close(CloseCode.SlowConsumer, 'too much data queued: the client is not reading', 'slow-consumer');
    }
  }

  /** Replies with an `error` and reports it to the host. */
  fail(code: `${ErrorCode}`, message: string, request?: string, target?: string): void {
    this.send(encodeError(code, message, request, target));
    this.hub.protocolError(this, code, message);
  }

  /** Replies with a refused login and reports it to the host. */
  refuse(reason: `${LoginFailure}`, message: string): void {
    this.send(encodeLoginRefused(reason, message));
    this.hub.protocolError(this, reason, message);
  }

  /** Runs the messages held during a login, until one starts another login. */
  drain(): void {
    const held = this.pending;
    while (held !== undefined && held.length > 0 && this.state !== ConnectionState.LoggingIn) {
      if (this.state === ConnectionState.Closed) return;
      this.handle(held.shift()!);
    }
  }

  addPartner(name: string, node: PartnerNode): void {
    let partners = this.partners;
    if (partners === undefined) partners = this.partners = new Map();
    else if (partners.size >= this.hub.options.maxCallsPerPeer && !partners.has(name)) return;
    partners.set(name, node);
  }

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

  private hold(message: string | Uint8Array): void {
    const held = (this.pending ??= []);
    if (held.length >= this.hub.options.maxPendingMessages) {
      this.fail(ErrorCode.LoginPending, 'Too many messages while the login is being decided: wait for the login reply');
      return;
    }
    // The adapter may reuse the bytes once receive() returns.
    held.push(typeof message === 'string' ? message : message.slice());
  }

  private handle(message: string | Uint8Array): void {
    if (message.length > this.hub.options.maxMessageBytes) {
      this.fail(ErrorCode.MessageTooLarge, `Message too large: the limit is ${this.hub.options.maxMessageBytes} bytes`);
      return;
    }
    if (typeof message === 'string') {
      this.parse(message);
      return;
    }
    // Well-formed relays are forwarded as bytes, without decoding or JSON; anything else, errors included, is parsed.
    if (this.state === ConnectionState.Joined && scanRelay(message, scanned)) {
      const type = scanned.type;
      const suffix = (this.relaySuffix ??= encodeRelaySuffix(this.nameJson));
      const frame = encodeRelayBytes(type, message, scanned.payloadStart, scanned.payloadEnd, suffix);
      const last = this.lastTarget?.deref();
      if (last !== undefined && last.state === ConnectionState.Joined && targetIs(message, scanned, last.name)) {
        this.hub.router.relayLocal(this, type, last, frame);
      } else {
        const target = this.hub.router.relay(this, type, targetOf(message, scanned), frame);
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
        this.hub.login(this, fields);
        return;
      case undefined:
        this.fail(ErrorCode.InvalidMessage, 'Invalid message: it has no "type"');
        return;
      default: {
        const shown = typeof type === 'string' ? type : JSON.stringify(type);
        this.fail(ErrorCode.UnknownType, `Command not found: ${shown}`, shown);
      }
    }
  }

  private relay(type: RelayType, fields: Record<string, unknown>): void {
    if (this.state !== ConnectionState.Joined) {
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
    this.hub.router.relay(this, type, target, encodeRelay(type, payload, this.nameJson));
  }
}
