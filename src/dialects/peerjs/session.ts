import { Admission, RateLimiter } from '../../core/rate-limiter.js';
import type { ConnectionInfo, Transport, TransportSession } from '../../core/transport.js';
import { CloseCode } from '../../protocol/close-codes.js';
import type { QueuedMessage } from './offline-queue.js';
import type { DialectContext, DialectSession } from './context.js';
import {
  errorFrame,
  expireFrame,
  ID_TAKEN_FRAME,
  OPEN_FRAME,
  PeerjsErrorText,
  RELAY_TYPES,
  relayFrame,
  validId,
} from './wire.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** Reused by {@link utf8Of}: the hub reads the bytes it is given during the call only. */
let scratch = new Uint8Array(4096);

/** `text` as UTF-8 in the shared scratch buffer (valid until the next call). */
function utf8Of(text: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(Math.max(text.length * 3, 2 * scratch.length));
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
}

/** Frames a client may send before its `OPEN`; they are handled after it (the client sends none before it). */
const MAX_EARLY_FRAMES = 16;

/** Close code after `ERROR` or `ID-TAKEN` (peerjs-server closes too; the client reacts to the frame). */
const REFUSED = 1000;

/** What the handshake query carries. */
interface Handshake {
  readonly id: string;
  readonly token: string;
}

/** Where the hub's relay frames keep their parts (built by the hub's encoder; see PROTOCOL.md). */
const HUB_RELAY_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['{"type":"offer","offer":', 'OFFER'],
  ['{"type":"answer","answer":', 'ANSWER'],
  ['{"type":"candidate","candidate":', 'CANDIDATE'],
];

/** A PeerJS `LEAVE` rides a hub `candidate` relay with this wrapper, so it is told apart from the hub's own `leave`. */
const LEAVE_WRAPPER = '{"peerjs-leave":';

/**
 * One PeerJS connection: to the ws adapter it is the hub session (PeerJS
 * frames in → hub frames), to the hub it is the transport (hub frames out →
 * PeerJS frames). The handshake comes from the query; the login is made here.
 */
export class PeerjsSession implements Transport, TransportSession, DialectSession {
  /** The hub's side, once the query passed. */
  private inner: TransportSession | undefined;
  /** Set by the query. */
  id = '';
  private idJson = '';
  /** The hub name of the id. */
  name = '';
  /** The client's token (PeerJS's: the same across `reconnect()`). */
  peerjsToken = '';
  /** The hub's resume token of this login. */
  hubToken: string | undefined;
  /** `OPEN` was sent. */
  opened = false;
  private ended = false;
  /** A cross-node take-over was asked for already. */
  private askedCluster = false;
  private early: string[] | undefined;
  /**
   * The hub's rate limit, applied here to every frame: relays to other nodes and queued
   * ones go through `hub.send`, which the hub's own limiter does not see.
   */
  private limiter: RateLimiter | undefined;
  lastSeen = Date.now();

  constructor(
    private readonly context: DialectContext,
    private readonly transport: Transport,
  ) {}

  /** Checks the query and starts the login; refusals are answered and closed here. */
  start(info: ConnectionInfo): void {
    const context = this.context;
    const handshake = parseQuery(info.request?.url);
    if (handshake === 'missing') return this.refuse(errorFrame(PeerjsErrorText.InvalidWsParameters));
    if (handshake.key !== context.options.key) return this.refuse(errorFrame(PeerjsErrorText.InvalidKey));
    if (!validId(handshake.id)) return this.refuse(errorFrame('Invalid id provided'));
    if (handshake.token.length > 256) return this.refuse(errorFrame(PeerjsErrorText.InvalidWsParameters));
    if (context.sessions.size >= context.options.concurrent_limit) {
      return this.refuse(errorFrame(PeerjsErrorText.ConnectionLimitExceeded));
    }
    context.sessions.add(this);
    this.id = handshake.id;
    this.idJson = JSON.stringify(handshake.id);
    this.name = context.prefix + handshake.id;
    this.peerjsToken = handshake.token;
    const rateLimit = context.port.options.rateLimit;
    if (rateLimit !== false) this.limiter = new RateLimiter(rateLimit.messagesPerSecond, rateLimit.burst, this.lastSeen);
    this.inner = context.port.open(this, info);
    if (this.ended) return;
    // The same id and token on this node: the token of its hub login takes it over (PeerJS's reconnect).
    const local = context.online.get(this.id);
    this.login(local !== undefined && local.peerjsToken === this.peerjsToken ? local.hubToken : undefined);
  }

  private login(hubToken: string | undefined): void {
    this.inner?.receive(
      JSON.stringify({ type: 'login', name: this.name, resume: true, token: hubToken, peerjs: this.context.loginMark }),
    );
  }

  private refuse(frame: string): void {
    this.transport.send(frame);
    this.transport.close(REFUSED, '');
  }

  // --- The hub's transport: hub frames out, PeerJS frames to the client ---

  send(message: string | Uint8Array): void {
    const text = typeof message === 'string' ? message : decoder.decode(message);
    for (const [prefix, type] of HUB_RELAY_PREFIXES) {
      if (text.startsWith(prefix)) return this.relayOut(text, prefix.length, type);
    }
    // The hub's own `leave` (a partner's connection ended): peerjs-server sends none, and a PeerJS
    // peer may keep its data connections after `peer.disconnect()`. A PeerJS LEAVE comes as a candidate.
    if (text.startsWith('{"type":"leave"')) return;
    let frame: Record<string, unknown> | null;
    try {
      frame = JSON.parse(text) as Record<string, unknown> | null;
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    switch (frame.type) {
      case 'login':
        // Only the answer to this session's own login (a host's `hub.send` of a "login" is not one).
        if (!this.opened) this.loginReply(frame);
        return;
      case 'error':
        return this.errorReply(frame);
      case 'ice-servers':
        return;
      case 'peerjs:take-over':
        return this.context.takeOverAsked(this, frame);
      default:
        // PeerJS frames from the dialect on another node, or the host's own messages (`hub.send`).
        this.transport.send(text);
    }
  }

  private relayOut(text: string, payloadAt: number, type: string): void {
    // The sender's name ends the frame; its JSON cannot hold `,"name":` unescaped.
    const nameAt = text.lastIndexOf(',"name":');
    if (nameAt < payloadAt) return;
    // `"peerjs:<key>:<id>"`: the prefix needs no escaping, so the id's JSON is the rest after it.
    const quotedPrefix = this.context.quotedPrefix;
    // Names outside this dialect's key (classic clients) do not reach PeerJS peers.
    if (!text.startsWith(quotedPrefix, nameAt + 8)) return;
    const srcJson = '"' + text.slice(nameAt + 8 + quotedPrefix.length, -1);
    let payload = text.slice(payloadAt, nameAt);
    if (type === 'CANDIDATE' && payload.startsWith(LEAVE_WRAPPER)) {
      type = 'LEAVE';
      payload = payload.slice(LEAVE_WRAPPER.length, -1);
    }
    this.transport.send(relayFrame(type, srcJson, this.idJson, payload));
  }

  private loginReply(frame: Record<string, unknown>): void {
    if (frame.success === true) {
      this.hubToken = frame.token as string;
      this.opened = true;
      this.context.online.set(this.id, this);
      this.transport.send(OPEN_FRAME);
      const early = this.early;
      this.early = undefined;
      if (early !== undefined) for (const text of early) this.handle(text);
      this.context.queue.flush(this.id);
      return;
    }
    if (frame.reason === 'name-taken') {
      if (!this.askedCluster && this.context.clustered && !this.context.online.has(this.id)) {
        this.askedCluster = true;
        this.context.askTakeOver(this).then(
          (token) => {
            if (this.ended) return;
            if (token === undefined) this.refuse(ID_TAKEN_FRAME);
            else this.login(token);
          },
          (error: unknown) => {
            this.context.port.reportError(error);
            this.refuse(ID_TAKEN_FRAME);
          },
        );
        return;
      }
      return this.refuse(ID_TAKEN_FRAME);
    }
    this.refuse(errorFrame(typeof frame.message === 'string' ? frame.message : 'Login refused'));
  }

  private errorReply(frame: Record<string, unknown>): void {
    const target = frame.target;
    const prefix = this.context.prefix;
    // A relay the hub could not deliver: PeerJS says so with EXPIRE (non-fatal `peer-unavailable`).
    if (
      (frame.code === 'peer-not-found' || frame.code === 'peer-gone' || frame.code === 'peer-congested') &&
      typeof target === 'string' &&
      target.startsWith(prefix)
    ) {
      this.transport.send(expireFrame(target.slice(prefix.length), this.id));
    }
    // Other errors (rate-limited, binary-not-supported…): PeerJS's ERROR is fatal to the client, so they are not passed on.
  }

  close(code: number, reason: string): void {
    this.transport.close(code, reason);
    // A drain holds the names of resumable peers for them to resume elsewhere; a PeerJS client
    // reconnects with a new login (it has no hub token), so its id is let go at once instead.
    if (code === (CloseCode.Reconnect as number)) queueMicrotask(() => this.context.release(this.name));
  }

  terminate(): void {
    if (this.transport.terminate !== undefined) this.transport.terminate();
    else this.transport.close(1006, '');
  }

  get bufferedAmount(): number | undefined {
    return this.transport.bufferedAmount;
  }

  /** A PeerJS frame for this client from the dialect (OPEN, EXPIRE, queued relays). */
  sendFrame(frame: string): void {
    this.transport.send(frame);
  }

  // --- The adapter's session: PeerJS frames in, hub frames to the hub ---

  receive(message: string | Uint8Array): void {
    const now = (this.lastSeen = Date.now());
    if (this.inner === undefined) return;
    const admission = this.limiter?.admit(now) ?? Admission.Accept;
    if (admission !== Admission.Accept) {
      // Dropped: PeerJS has no non-fatal error to say so. A client that keeps flooding is closed, as by the hub.
      if (admission === Admission.Disconnect) this.transport.close(CloseCode.TooManyMessages, 'rate limit exceeded');
      return;
    }
    const text = typeof message === 'string' ? message : decoder.decode(message);
    if (!this.opened) {
      this.early ??= [];
      if (this.early.length < MAX_EARLY_FRAMES) this.early.push(text);
      return;
    }
    this.handle(text);
  }

  private handle(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return this.transport.send(errorFrame('Invalid message: not JSON'));
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return this.transport.send(errorFrame('Invalid message: not a JSON object'));
    }
    const { type, dst, payload } = message as { type?: unknown; dst?: unknown; payload?: unknown };
    if (typeof type !== 'string') return this.transport.send(errorFrame('Invalid message: no type'));
    if (type === 'HEARTBEAT') return;
    const hubType = RELAY_TYPES[type];
    // Other types are ignored, as peerjs-server does (newer clients may send more).
    if (hubType === undefined) return;
    if (!validId(dst)) return this.transport.send(errorFrame(`Invalid message: ${type} needs a dst that is a PeerJS id`));
    const context = this.context;
    const payloadJson = payload === undefined ? 'null' : JSON.stringify(payload);
    if (context.online.has(dst) && !context.queue.has(dst)) {
      // On this node: the hub's own relay (its limits, metrics and call tracking).
      const target = JSON.stringify(context.prefix + dst);
      // In the tutorial's field order and as bytes: the hub's relay scanner forwards it without JSON.
      const frame =
        hubType === 'leave'
          ? `{"type":"candidate","candidate":${LEAVE_WRAPPER}${payloadJson}},"name":${target}}`
          : `{"type":"${hubType}","${hubType}":${payloadJson},"name":${target}}`;
      return this.inner!.receive(utf8Of(frame));
    }
    const item: QueuedMessage = {
      src: this.id,
      frame: relayFrame(type, this.idJson, JSON.stringify(dst), payloadJson),
      message: { type, src: this.id, dst, payload: payload ?? null },
      at: Date.now(),
    };
    context.relayAway(this, dst, item);
  }

  receiveBinary(): void {
    this.lastSeen = Date.now();
    if (this.opened) this.transport.send(errorFrame('Invalid message: binary frames are not supported'));
  }

  closed(code?: number): void {
    if (this.ended) return;
    this.ended = true;
    const context = this.context;
    context.sessions.delete(this);
    if (context.online.get(this.id) === this) context.online.delete(this.id);
    // Every close ends the peer at once, as in peerjs-server: a reconnect is a new login (or a take-over
    // of a socket not yet noticed dead). 1000 tells the hub it is a goodbye, not a blip to hold.
    this.inner?.closed(code === 1000 || code === 1001 ? code : 1000);
  }
}

/** The query of `{path}peerjs?key=K&id=ID&token=T`. */
function parseQuery(url: string | undefined): (Handshake & { key: string }) | 'missing' {
  let query: URLSearchParams;
  try {
    query = new URL(url ?? '/', 'http://x').searchParams;
  } catch {
    return 'missing';
  }
  const key = query.get('key');
  const id = query.get('id');
  const token = query.get('token');
  if (!key || !id || !token) return 'missing';
  return { key, id, token };
}
