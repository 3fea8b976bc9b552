import { EventEmitter } from 'eventemitter3';
import { InvalidArgumentError } from '../common/errors.js';
import { describeValue } from '../common/option-check.js';
import { CloseCode } from '../protocol/close-codes.js';
import { LoginFailure } from '../protocol/error-codes.js';
import { ReadyState } from '../protocol/http-wire.js';
import type { LoginRefused, LoginRequest, LoginSuccess, RelayRequest, ServerMessage } from '../protocol/messages.js';
import { utf8Length } from '../protocol/utf8.js';
import { TokenBucket } from '../common/token-bucket.js';
import { backoffDelay } from './backoff.js';
import { HttpSocket } from './http-socket.js';
import { LoginError, NotLoggedInError } from './errors.js';
import {
  type ResolvedClientOptions,
  type SendRateOptions,
  type SignallingClientOptions,
  resolveClientOptions,
} from './options.js';
import type {
  ClientState,
  IceCandidateInit,
  LoginEvent,
  SessionDescriptionInit,
  SignallingClientEvents,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
import type { IceServer } from '../protocol/messages.js';

const { OPEN, CLOSED } = ReadyState;

/**
 * Server closes after which reconnecting would fight the server's decision:
 * a kick, a take-over by a newer connection with our token, a rate-limit ban.
 */
const finalCloseCodes: ReadonlySet<number> = new Set([CloseCode.Forbidden, CloseCode.Replaced, CloseCode.TooManyMessages]);

/** Refusals of an automatic login that may pass on a later attempt. */
const transientFailures: ReadonlySet<string> = new Set([LoginFailure.BackplaneUnavailable, LoginFailure.HubClosing]);

/**
 * How long after the client has sent the last relay it held a 4429 from the
 * hub is still blamed on that replay (and the client reconnects), in ms.
 */
const REPLAY_GRACE_MS = 2000;

/** A relay waiting in the outbox. */
interface Held {
  readonly frame: string;
  /** UTF-8 bytes of `frame`. */
  readonly bytes: number;
  readonly type: RelayRequest['type'];
  readonly to: string;
}

/** A login waiting for its reply: one `login()` asked for, or an automatic one after a reconnection. */
interface WantedLogin {
  name: string;
  automatic: boolean;
  resolve?: (event: LoginEvent) => void;
  reject?: (error: LoginError) => void;
}

/**
 * A typed client of the hub's protocol, for browsers and Node.
 *
 * `name` arguments are the peer a message goes to; events carry `from`, the
 * peer that sent it. It logs in as resumable (option `resume`): after a lost
 * connection, or a draining server's 4503, it reconnects (to the next of its
 * URLs when there are several) and resumes the session with the token, so
 * its call partners hear nothing and the relays sent to it meanwhile arrive
 * (and a stale connection the server has not noticed yet does not make the
 * name "taken", peers/peerjs#1289). Relays sent while it reconnects are held
 * (up to `maxOutboxMessages` and `maxOutboxBytes`) and sent after that login,
 * in order, at the pace of `sendRate`.
 *
 * @example
 * ```ts
 * const client = new SignallingClient('wss://example.com/signalling');
 * await client.login('alice');
 * client.on('offer', ({ from, offer }) => console.log(from, 'calls with', offer));
 * client.offer('bob', await pc.createOffer());
 * ```
 */
export class SignallingClient extends EventEmitter<SignallingClientEvents> {
  /** The hub's WebSocket URLs, in the order they are tried (e.g. one per node, or one per region). */
  readonly urls: readonly string[];
  /** Index in `urls` of the one in use. */
  private at = 0;
  /** Whether the current socket got a successful login (else, when it is lost, the next URL is tried). */
  private loggedInHere = false;
  /** URLs the pending `login()` has tried. */
  private tried = 0;
  private readonly options: ResolvedClientOptions;
  private socket: WebSocketLike | undefined;
  private currentState: ClientState = 'idle';
  /** The name and resume token of the last successful login. */
  private session: { name: string; token: string } | undefined;
  /** Whether a lost connection should be restored (a login succeeded and nothing ended the session since). */
  private stayOnline = false;
  private wanted: WantedLogin | undefined;
  private loginTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private currentTransport: 'websocket' | 'http' | undefined;
  /** `transport: 'auto'` fell back to HTTP. */
  private onHttp = false;
  private fallbackReason: string | undefined;
  private fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  /** WebSocket upgrades in a row that failed before they opened. */
  private upgradeFailures = 0;
  /** Relays not sent yet (while reconnecting, or waiting for the pace), in order. */
  private outbox: Held[] = [];
  private outboxBytes = 0;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  /** The current pace (`undefined`: none): `sendRate`, halved after each 4429 caused by a replay. */
  private pace: TokenBucket | undefined;
  /** The last relay held over a reconnection, while they are being sent (the replay). */
  private replayLast: Held | undefined;
  /** Until when (a `Date.now()`) a 4429 is still blamed on the last replay. */
  private replayGraceEnd = 0;
  private servers: IceServer[] | undefined;

  /**
   * @param url The hub's WebSocket URL, or several: a connection that fails,
   * or closes before its login succeeded, or is closed by a server going away
   * (1001, 4503), is followed by one to the next URL.
   * @throws {@link InvalidArgumentError} when `url` is neither a non-empty
   * string nor a non-empty array of them; `InvalidOptionError` for a bad option.
   */
  constructor(url: string | readonly string[], options: SignallingClientOptions = {}) {
    super();
    const urls: unknown[] = Array.isArray(url) ? [...(url as unknown[])] : [url];
    if (urls.length === 0 || urls.some((entry) => typeof entry !== 'string' || entry === '')) {
      throw new InvalidArgumentError('url', 'a WebSocket URL or a non-empty array of them', describeValue(url));
    }
    // A relative URL ('/signal') is the page's: a browser resolves it, and so does HttpSocket. Without a page it cannot work.
    if (typeof (globalThis as { location?: { href?: unknown } }).location?.href !== 'string') {
      const relative = (urls as string[]).find((entry) => !/^[a-z][a-z0-9+.-]*:/i.test(entry));
      if (relative !== undefined) {
        throw new InvalidArgumentError(
          'url',
          'an absolute ws://, wss://, http:// or https:// URL (a relative one needs a page to resolve against)',
          describeValue(relative),
        );
      }
    }
    this.urls = Object.freeze(urls as string[]);
    this.options = resolveClientOptions(options);
    this.pace = paceOf(this.options.sendRate, undefined);
  }

  /** The URL in use: the one connected to, or the next one to try. */
  get url(): string {
    return this.urls[this.at]!;
  }

  /** Where the client is in its life. */
  get state(): ClientState {
    return this.currentState;
  }

  /**
   * How the client reaches the hub: `'websocket'`, or `'http'` (the hub's
   * HTTP fallback); `undefined` before the first connection. The `transport`
   * event tells when it changes.
   */
  get transport(): 'websocket' | 'http' | undefined {
    return this.currentTransport;
  }

  private setTransport(transport: 'websocket' | 'http'): void {
    if (transport === this.currentTransport) return;
    this.currentTransport = transport;
    this.emit('transport', { transport, reason: transport === 'http' ? this.fallbackReason : undefined });
  }

  /** Falls back to HTTP for the rest of this client's life (a network that blocks WebSockets keeps doing so). */
  private useHttp(reason: string): void {
    this.onHttp = true;
    this.fallbackReason = reason;
  }

  /** The name of the last successful login, if any. */
  get name(): string | undefined {
    return this.session?.name;
  }

  /**
   * The STUN/TURN servers the hub gave this client (hub option `turn` or
   * `iceServers`): from the last login reply, replaced by each fresh set the
   * hub pushes before the credentials expire (the `ice-servers` event says
   * when). `undefined` when the hub sends none. Pass them to every
   * `RTCPeerConnection` (the {@link PeerConnectionManager} does).
   */
  get iceServers(): IceServer[] | undefined {
    return this.servers;
  }

  /**
   * Connects if needed and logs in as `name`. Resolves once the hub accepts;
   * rejects with a {@link LoginError} whose `reason` says why not. After a
   * refusal the connection stays open and `login()` may be tried again.
   */
  login(name: string): Promise<LoginEvent> {
    if (this.wanted !== undefined && !this.wanted.automatic) {
      return Promise.reject(new LoginError('login-in-progress', 'Another login() has not settled yet'));
    }
    if (this.currentState === 'logged-in' && name === this.session?.name) {
      return Promise.resolve({ name, resumed: false });
    }
    return new Promise((resolve, reject) => {
      // A manual login supersedes a scheduled or pending automatic one.
      this.clearReconnectTimer();
      this.wanted = { name, automatic: false, resolve, reject };
      this.tried = 0;
      this.startLogin();
    });
  }

  /** Sends an offer to `to`. */
  offer(to: string, offer: SessionDescriptionInit): void {
    this.relay({ type: 'offer', name: to, offer });
  }

  /** Sends an answer to `to`. */
  answer(to: string, answer: SessionDescriptionInit): void {
    this.relay({ type: 'answer', name: to, answer });
  }

  /** Sends an ICE candidate to `to`. */
  candidate(to: string, candidate: IceCandidateInit | null): void {
    this.relay({ type: 'candidate', name: to, candidate });
  }

  /** Tells `to` that this peer left the call. */
  leave(to: string): void {
    this.relay({ type: 'leave', name: to });
  }

  /**
   * Closes the connection for good (no reconnection); the hub tells call
   * partners `leave`. A pending `login()` rejects. Resolves once the socket is
   * closed. `login()` may be called again afterwards.
   */
  close(): Promise<void> {
    this.clearReconnectTimer();
    clearTimeout(this.fallbackTimer);
    this.settleWanted(new LoginError('connection-closed', 'The client was closed'));
    this.stayOnline = false;
    this.clearOutbox();
    this.pace = paceOf(this.options.sendRate, this.pace);
    const socket = this.socket;
    this.socket = undefined;
    const previous = this.currentState;
    this.currentState = 'closed';
    if (previous !== 'idle' && previous !== 'closed') {
      this.emit('close', { code: 1000, reason: 'closed by the client', reconnecting: false });
    }
    if (socket === undefined || socket.readyState === CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      socket.addEventListener('close', () => resolve());
      socket.close(1000, 'closed by the client');
    });
  }

  private relay(message: RelayRequest): void {
    if (!this.stayOnline) throw new NotLoggedInError();
    const frame = JSON.stringify(message);
    if (this.outbox.length === 0 && this.canSend() && this.take() === 0) {
      this.socket!.send(frame);
      return;
    }
    this.hold({ frame, bytes: utf8Length(frame), type: message.type, to: message.name });
    this.drain();
  }

  private canSend(): boolean {
    return this.currentState === 'logged-in' && this.socket?.readyState === OPEN;
  }

  /** Puts a relay in the outbox, making room: held candidates go first, then the oldest relays. */
  private hold(held: Held): void {
    const { maxOutboxMessages, maxOutboxBytes } = this.options;
    // One relay larger than the whole outbox goes alone, without emptying the outbox first.
    if (held.bytes > maxOutboxBytes) {
      this.emit('dropped', { type: held.type, to: held.to });
      return;
    }
    this.outbox.push(held);
    this.outboxBytes += held.bytes;
    while (this.outbox.length > maxOutboxMessages || this.outboxBytes > maxOutboxBytes) {
      const candidate = this.outbox.findIndex((entry) => entry.type === 'candidate');
      const index = candidate === -1 ? 0 : candidate;
      const [gone] = this.outbox.splice(index, 1);
      this.outboxBytes -= gone!.bytes;
      if (gone === this.replayLast) {
        this.replayLast = this.outbox[index - 1];
        if (this.replayLast === undefined) this.replayed();
      }
      this.emit('dropped', { type: gone!.type, to: gone!.to });
    }
  }

  /** Sends held relays while the connection and the pace allow, then waits for the next token. */
  private drain(): void {
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    while (this.outbox.length > 0 && this.canSend()) {
      const wait = this.take();
      if (wait > 0) {
        this.drainTimer = setTimeout(() => this.drain(), wait);
        return;
      }
      const held = this.outbox.shift()!;
      this.outboxBytes -= held.bytes;
      this.socket!.send(held.frame);
      if (held === this.replayLast) this.replayed();
    }
  }

  /** The relays held over a reconnection are sent: the session is back, a later loss counts attempts afresh. */
  private replayed(): void {
    this.replayLast = undefined;
    this.replayGraceEnd = Date.now() + REPLAY_GRACE_MS;
    this.attempt = 0;
  }

  /** Takes a token of the pace: 0 when there was one, else the milliseconds until there is. */
  private take(): number {
    return this.pace === undefined ? 0 : this.pace.take(Date.now());
  }

  private clearOutbox(): void {
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.outbox = [];
    this.outboxBytes = 0;
    this.replayLast = undefined;
  }

  private startLogin(): void {
    clearTimeout(this.loginTimer);
    this.loginTimer = setTimeout(() => this.loginTimedOut(), this.options.loginTimeout);
    if (this.socket === undefined) this.connect();
    else if (this.socket.readyState === OPEN) this.sendLogin();
    // Otherwise the socket is still connecting: its open handler sends the login.
  }

  private sendLogin(): void {
    const wanted = this.wanted;
    if (wanted === undefined) return;
    const message: LoginRequest & { resume?: true } = { type: 'login', name: wanted.name };
    if (this.session !== undefined && this.session.name === wanted.name) message.token = this.session.token;
    if (this.options.resume) message.resume = true;
    this.socket!.send(JSON.stringify(message));
  }

  private connect(): void {
    const WebSocketClass = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const mode = this.options.transport;
    if (mode === 'websocket' && WebSocketClass === undefined) {
      clearTimeout(this.loginTimer);
      this.settleWanted(
        new LoginError('connection-closed', 'No WebSocket implementation: pass the WebSocket option (e.g. from the ws package)'),
      );
      this.currentState = 'closed';
      return;
    }
    // No WebSocket at all (a page or runtime without it): straight to the HTTP fallback.
    if (mode === 'auto' && WebSocketClass === undefined) {
      this.useHttp('no WebSocket implementation (Node 20 has none: pass the WebSocket option, e.g. from the ws package)');
    }
    const http = mode === 'http' || this.onHttp;
    let socket: WebSocketLike;
    try {
      socket = http ? new HttpSocket(this.url, this.options.http) : new WebSocketClass!(this.url);
    } catch (error) {
      this.lost(1006, error instanceof Error ? error.message : String(error));
      return;
    }
    this.setTransport(http ? 'http' : 'websocket');
    // Auto: a WebSocket that does not open in time (a proxy that swallows the upgrade) gives way to HTTP.
    if (!http && mode === 'auto') {
      clearTimeout(this.fallbackTimer);
      this.fallbackTimer = setTimeout(() => {
        if (this.socket !== socket || this.loggedInHere) return;
        this.useHttp(`the WebSocket did not open within ${this.options.fallbackTimeout} ms`);
        this.socket = undefined;
        socket.close(1000, 'falling back to HTTP');
        this.connect();
      }, this.options.fallbackTimeout);
    }
    this.socket = socket;
    this.loggedInHere = false;
    this.currentState = 'connecting';
    // Events of a socket the client has let go of are ignored.
    let opened = false;
    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      opened = true;
      // It opened: the way is clear (a slow login is the hub's business, not the transport's).
      clearTimeout(this.fallbackTimer);
      this.upgradeFailures = 0;
      this.currentState = 'connected';
      this.emit('open');
      this.sendLogin();
    });
    socket.addEventListener('message', (event) => {
      if (this.socket === socket) this.receive((event as { data?: unknown }).data);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      const { code, reason } = event as { code?: number; reason?: string };
      // Auto: WebSocket upgrades that fail twice in a row before they open (a proxy in the way, not
      // one busy node behind a balancer: that one a second try passes by) give way to HTTP.
      if (!http && mode === 'auto' && !opened && this.wanted !== undefined) {
        clearTimeout(this.fallbackTimer);
        if (++this.upgradeFailures >= 2) {
          this.upgradeFailures = 0;
          this.useHttp(`the WebSocket upgrade failed twice (${code ?? 1006})`);
          this.connect();
          return;
        }
        // One URL: the second try comes at once (several: the next URL is the second try).
        if (this.urls.length === 1) {
          this.connect();
          return;
        }
      }
      // HTTP failed too before a login (the hub is down, not a proxy in the way): WebSocket first again next time.
      if (http && mode === 'auto' && !this.loggedInHere) this.onHttp = false;
      this.lost(code ?? 1006, reason ?? '');
    });
    // A failed connection also fires `close`, which handles it.
    socket.addEventListener('error', () => {});
  }

  private receive(data: unknown): void {
    // The hub sends JSON text only; anything else is not for this client (tutorial clients crash here).
    if (typeof data !== 'string') return;
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    switch (message.type) {
      case 'login':
        this.loginReply(message);
        return;
      case 'offer':
        this.emit('offer', { from: message.name, offer: message.offer as SessionDescriptionInit });
        return;
      case 'answer':
        this.emit('answer', { from: message.name, answer: message.answer as SessionDescriptionInit });
        return;
      case 'candidate':
        this.emit('candidate', { from: message.name, candidate: message.candidate as IceCandidateInit | null });
        return;
      case 'leave':
        this.emit('leave', { from: message.name });
        return;
      case 'error':
        this.emit('error', message);
        return;
      case 'ice-servers': {
        // A malformed push is ignored: the servers in hand stay valid until they expire.
        const servers = iceServersOf(message.iceServers);
        if (servers !== undefined) this.setIceServers(servers);
        return;
      }
      default:
        this.emit('message', message);
    }
  }

  private loginReply(reply: LoginSuccess | LoginRefused): void {
    const wanted = this.wanted;
    if (wanted === undefined) return;
    // The hub logs in the name asked for: a reply naming another (or none) is not this client's name.
    if (reply.success && (reply.name !== wanted.name || typeof reply.token !== 'string')) {
      const named = typeof reply.name === 'string' ? JSON.stringify(reply.name) : describeValue(reply.name);
      this.drop(1002, `protocol error: the login reply named ${named}, not ${JSON.stringify(wanted.name)}`);
      return;
    }
    this.wanted = undefined;
    clearTimeout(this.loginTimer);
    if (reply.success) {
      this.session = { name: reply.name, token: reply.token };
      this.stayOnline = true;
      this.loggedInHere = true;
      // Each login reply says what the servers are now (fresh credentials, or none).
      this.setIceServers(iceServersOf(reply.iceServers));
      this.currentState = 'logged-in';
      // Attempts are counted afresh once the held relays are sent (a 4429 while sending them is an attempt too).
      this.replayLast = this.outbox[this.outbox.length - 1];
      if (this.replayLast === undefined) this.attempt = 0;
      this.drain();
      // A hub that says whether it resumed the session decides; for one that does not, any automatic login is a resume.
      const resumed = (reply as { resumed?: unknown }).resumed;
      const event: LoginEvent = { name: reply.name, resumed: typeof resumed === 'boolean' ? resumed : wanted.automatic };
      this.emit('login', event);
      wanted.resolve?.(event);
      return;
    }
    const error = new LoginError(reply.reason, reply.message);
    if (!wanted.automatic) {
      wanted.reject!(error);
    } else if (transientFailures.has(reply.reason)) {
      this.drop(1000, `automatic login refused: ${reply.reason}`);
    } else {
      // The name is gone for good (taken by someone else, or no longer allowed).
      this.stayOnline = false;
      this.drop(1000, `automatic login refused: ${reply.reason}`, error);
    }
  }

  private loginTimedOut(): void {
    const wanted = this.wanted;
    if (wanted === undefined) return;
    this.settleWanted(new LoginError('timeout', `No login reply within ${this.options.loginTimeout} ms`));
    // A late reply must not log in a socket the caller gave up on; an automatic login retries on a fresh one.
    this.drop(CloseCode.LoginTimeout, 'no login reply in time');
  }

  /** Lets go of the current socket and handles it as lost. */
  private drop(code: number, reason: string, error?: LoginError): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, reason);
    this.lost(code, reason, error);
  }

  /** The connection is gone: reconnect or close for good. */
  private lost(code: number, reason: string, error?: LoginError): void {
    clearTimeout(this.drainTimer);
    clearTimeout(this.fallbackTimer);
    // A URL that failed, or whose server is going away, is followed by the next one.
    const elsewhere = !this.loggedInHere || code === 1001 || code === (CloseCode.Reconnect as number);
    this.loggedInHere = false;
    if (elsewhere) this.at = (this.at + 1) % this.urls.length;
    if (elsewhere && this.wanted?.automatic === false && ++this.tried < this.urls.length) {
      // A login() tries each URL once, within its loginTimeout.
      this.connect();
      return;
    }
    clearTimeout(this.loginTimer);
    const why = reason === '' ? '' : `: ${reason}`;
    this.settleWanted(new LoginError('connection-closed', `The connection closed (${code}${why}) before the login reply`));
    // A 4429 while (or just after) sending the relays held over a reconnection is the client's own
    // doing, not the app flooding: slow down and carry on rather than lose the session.
    const replayFlood =
      code === (CloseCode.TooManyMessages as number) && (this.replayLast !== undefined || Date.now() < this.replayGraceEnd);
    this.replayLast = undefined;
    this.replayGraceEnd = 0;
    if (replayFlood) this.slowDown();
    const reconnecting =
      this.stayOnline &&
      this.options.reconnect &&
      (replayFlood || !finalCloseCodes.has(code)) &&
      this.attempt < this.options.maxReconnectAttempts;
    if (!reconnecting) {
      this.stayOnline = false;
      this.clearOutbox();
    }
    this.currentState = reconnecting ? 'reconnecting' : 'closed';
    this.emit('close', error === undefined ? { code, reason, reconnecting } : { code, reason, reconnecting, error });
    if (reconnecting) this.scheduleReconnect(code === (CloseCode.Reconnect as number));
  }

  /** Halves the pace (at least one relay a second, bursts of one). */
  private slowDown(): void {
    const pace = this.pace;
    if (pace === undefined) return;
    const rate = { messagesPerSecond: Math.max(1, pace.perSecond / 2), burst: Math.max(1, Math.floor(pace.burst / 2)) };
    this.pace = paceOf(rate, pace);
  }

  /** Schedules the next attempt: after a drain (4503) anywhere in `drainReconnectWindow`, else with backoff. */
  private scheduleReconnect(drained: boolean): void {
    const attempt = ++this.attempt;
    const { reconnectDelay, maxReconnectDelay, random, drainReconnectWindow } = this.options;
    const delay = drained
      ? Math.floor(random() * drainReconnectWindow)
      : backoffDelay(attempt, reconnectDelay, maxReconnectDelay, random);
    this.emit('reconnecting', { attempt, delay });
    this.clearReconnectTimer();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.currentState !== 'reconnecting' || this.session === undefined) return;
      this.wanted = { name: this.session.name, automatic: true };
      this.startLogin();
    }, delay);
  }

  private clearReconnectTimer(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private setIceServers(servers: IceServer[] | undefined): void {
    if (servers === undefined && this.servers === undefined) return;
    this.servers = servers;
    this.emit('ice-servers', { iceServers: servers });
  }

  /** Rejects a pending manual login; forgets an automatic one. */
  private settleWanted(error: LoginError): void {
    const wanted = this.wanted;
    this.wanted = undefined;
    wanted?.reject?.(error);
  }
}

/** A bucket for `rate` (`undefined`: no pace) that keeps the tokens `previous` had left, up to its burst. */
function paceOf(rate: Readonly<SendRateOptions> | false, previous: TokenBucket | undefined): TokenBucket | undefined {
  if (rate === false) return undefined;
  const now = Date.now();
  const pace = new TokenBucket(rate.messagesPerSecond, rate.burst, now);
  if (previous !== undefined) {
    previous.refill(now);
    pace.tokens = Math.min(previous.tokens, rate.burst);
  }
  return pace;
}

/**
 * `value` when it is an array of ICE servers (each with `urls`: a string or a
 * non-empty array of strings), else `undefined`: a malformed entry would make
 * `RTCPeerConnection` throw.
 */
function iceServersOf(value: unknown): IceServer[] | undefined {
  const valid =
    Array.isArray(value) &&
    value.every((server: { urls?: unknown } | null) => {
      const urls = [server?.urls].flat();
      return urls.length > 0 && urls.every((url) => typeof url === 'string');
    });
  return valid ? (value as IceServer[]) : undefined;
}
