import { EventEmitter } from 'eventemitter3';
import { InvalidArgumentError } from '../common/errors.js';
import { describeValue } from '../common/option-check.js';
import { CloseCode } from '../protocol/close-codes.js';
import { CLOSED, LOST_CODE, OPEN, refusalOf } from '../protocol/http-wire.js';
import type { IceServer, LoginRefused, LoginSuccess, RelayRequest } from '../protocol/messages.js';
import { Connector } from './connector.js';
import { CredentialsKeeper } from './credentials.js';
import { LoginError, NotLoggedInError } from './errors.js';
import { type ResolvedClientOptions, type SignallingClientOptions, resolveClientOptions } from './options.js';
import { Outbox } from './outbox.js';
import { Reconnection } from './reconnection.js';
import { ClientRooms } from './rooms.js';
import { type ServerInputSink, iceServersOf, receiveServerFrame } from './server-input.js';
import { isTransient, Session } from './session.js';
import type { ClientState, IceCandidateInit, LoginEvent, SessionDescriptionInit, SignallingClientEvents } from './types.js';
import { checkedUrls } from './urls.js';

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
  private readonly options: ResolvedClientOptions;
  private currentState: ClientState = 'idle';
  private readonly connector: Connector;
  private readonly session: Session;
  private readonly outbox: Outbox;
  private readonly reconnection: Reconnection;
  private servers: IceServer[] | undefined;
  private readonly credentials: CredentialsKeeper;
  // --- rooms (logic in rooms.ts) ---
  private readonly roomState = new ClientRooms({
    canSend: () => this.currentState === 'logged-in' && this.connector.socket?.readyState === OPEN,
    send: (frame) => this.connector.socket!.send(frame),
    relay: (message) => this.outbox.relay(message),
    emit: this.emit.bind(this),
  });
  // --- end rooms ---
  /** Where the hub's frames go (see `server-input.ts`). */
  private readonly input: ServerInputSink = {
    emit: this.emit.bind(this),
    rooms: this.roomState,
    loginReply: (reply) => this.loginReply(reply),
    iceServers: (servers) => this.setIceServers(servers),
  };

  /**
   * @param url The hub's WebSocket URL, or several: a connection that fails,
   * or closes before its login succeeded, or is closed by a server going away
   * (1001, 4503), is followed by one to the next URL. A relative URL
   * (`'/signal'`) is resolved against the page, over WebSocket and HTTP alike.
   * @throws {@link InvalidArgumentError} when `url` is neither a non-empty
   * string nor a non-empty array of them, or is relative where there is no
   * page (Node); `InvalidOptionError` for a bad option.
   */
  constructor(url: string | readonly string[], options: SignallingClientOptions = {}) {
    super();
    this.urls = checkedUrls(url);
    const resolved = resolveClientOptions(options);
    this.options = resolved;
    this.session = new Session(resolved.resume);
    this.credentials = new CredentialsKeeper(resolved.credentials);
    this.reconnection = new Reconnection(resolved);
    this.connector = new Connector(this.urls, resolved, {
      connecting: () => {
        this.currentState = 'connecting';
      },
      opened: () => {
        this.currentState = 'connected';
        this.emit('open');
        this.sendLogin();
      },
      message: (data) => receiveServerFrame(this.input, data),
      closed: (code, reason) => this.lost(code, reason),
      refused: (status, message) => this.handshakeRefused(status, message),
      unavailable: (message) => {
        this.session.disarm();
        this.session.settle(new LoginError('connection-closed', message));
        this.currentState = 'closed';
      },
      wantsLogin: () => this.session.wanted !== undefined,
      transport: (event) => this.emit('transport', event),
    });
    this.outbox = new Outbox(
      {
        canSend: () => this.currentState === 'logged-in' && this.connector.socket?.readyState === OPEN,
        send: (frame) => this.connector.socket!.send(frame),
        dropped: (event) => this.emit('dropped', event),
        // The relays held over a reconnection are sent: the session is back, a later loss counts attempts afresh.
        replayed: () => {
          this.reconnection.attempt = 0;
        },
      },
      resolved.sendRate,
      resolved.maxOutboxMessages,
      resolved.maxOutboxBytes,
    );
  }

  /** The URL in use: the one connected to, or the next one to try. */
  get url(): string {
    return this.connector.url;
  }

  /** Where the client is in its life. */
  get state(): ClientState {
    return this.currentState;
  }

  /**
   * How the client reaches the hub: `'websocket'`, or `'http'` (the hub's
   * HTTP fallback); `undefined` before the first connection. The `transport`
   * event tells when it changes, and why the client fell back to HTTP.
   */
  get transport(): 'websocket' | 'http' | undefined {
    return this.connector.transport;
  }

  /** The name of the last successful login, if any. */
  get name(): string | undefined {
    return this.session.current?.name;
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
   * Connects if needed and logs in as `name` (none: the hub assigns one,
   * with its `assignNames`; the reply's name is the client's). Resolves once
   * the hub accepts; rejects with a {@link LoginError} whose `reason` says
   * why not: a refusal in the login reply (after which the connection stays
   * open and `login()` may be tried again), or a refused handshake
   * (`unauthorized`, `forbidden`, `too-many-requests`, `unavailable`, with
   * its HTTP `status`), after which the client does not fall back to HTTP.
   */
  login(name?: string): Promise<LoginEvent> {
    const pending = this.session.wanted;
    if (pending !== undefined && !pending.automatic) {
      return Promise.reject(new LoginError('login-in-progress', 'Another login() has not settled yet'));
    }
    const current = this.session.current;
    if (this.currentState === 'logged-in' && current !== undefined && (name === undefined || name === current.name)) {
      return Promise.resolve({ name: current.name, resumed: false });
    }
    return new Promise((resolve, reject) => {
      // A manual login supersedes a scheduled or pending automatic one.
      this.reconnection.clear();
      this.credentials.cancel();
      this.session.wanted = { name, automatic: false, resolve, reject };
      this.connector.startTrying();
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

  // --- rooms (logic in rooms.ts) ---
  /** The rooms this client is in (confirmed by the hub), in the order they were joined. */
  get rooms(): ReadonlySet<string> {
    return this.roomState.rooms;
  }

  /**
   * Joins `room`: resolves with the other members, in the order they joined;
   * rejects with a {@link RoomError} whose `reason` is the hub's refusal
   * (`room-full`, `forbidden`, `invalid-room`, `too-many-rooms`…), or
   * `connection-closed`. Joined rooms are kept over a resume; after a fresh
   * login (the resume expired) the client joins them again by itself.
   * While reconnecting, the join is sent after the login.
   */
  join(room: string): Promise<string[]> {
    if (typeof room !== 'string') return Promise.reject(new InvalidArgumentError('room', 'a room name', describeValue(room)));
    if (!this.session.stayOnline) return Promise.reject(new NotLoggedInError());
    return this.roomState.join(room);
  }

  /**
   * Leaves `room` (at once here; the others hear `parted`). Resolves when the
   * hub confirms, or at once while reconnecting (the hub learns it after the
   * resume); rejects with a {@link RoomError} `not-in-room` for a room this
   * client is not in.
   */
  part(room: string): Promise<void> {
    return this.roomState.part(room);
  }

  /**
   * Sends `data` (any JSON value) to the other members of `room`, a room
   * joined (or being joined). Held and paced like relays while reconnecting.
   * Returns `true` when sent now (or paced by `sendRate`), `false` when held
   * for after the reconnection.
   * @throws {@link NotLoggedInError}; {@link InvalidArgumentError} for a room this client is not in.
   */
  broadcast(room: string, data: unknown): boolean {
    if (!this.session.stayOnline) throw new NotLoggedInError();
    if (!this.roomState.has(room)) throw new InvalidArgumentError('room', 'a room this client joined', describeValue(room));
    return this.roomState.broadcast(room, data);
  }
  // --- end rooms ---

  /**
   * Closes the connection for good (no reconnection); the hub tells call
   * partners `leave`. A pending `login()` rejects. Resolves once the socket is
   * closed. `login()` may be called again afterwards.
   */
  close(): Promise<void> {
    this.reconnection.clear();
    this.credentials.cancel();
    this.connector.stop();
    this.session.settle(new LoginError('connection-closed', 'The client was closed'));
    this.session.stayOnline = false;
    this.outbox.clear(true);
    this.roomState.ended('The client was closed');
    const socket = this.connector.release();
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
    if (!this.session.stayOnline) throw new NotLoggedInError();
    this.outbox.relay(message);
  }

  private startLogin(): void {
    this.session.arm(this.options.loginTimeout, () => this.loginTimedOut());
    const socket = this.connector.socket;
    if (socket === undefined) this.connect();
    else if (socket.readyState === OPEN) {
      // The login fields may have expired too: ask before this login.
      this.credentials.get(
        this.reconnection.attempt,
        () => {
          if (this.connector.socket === socket && socket.readyState === OPEN) this.sendLogin();
        },
        (error) => this.credentialsFailed(error),
      );
    }
    // Otherwise the socket is still connecting: its open handler sends the login.
  }

  /** Opens a connection with the credentials of the moment (the callback is asked first, when there is one). */
  private connect(): void {
    if (this.credentials.enabled) this.currentState = 'connecting';
    this.credentials.get(
      this.reconnection.attempt,
      () => {
        if (this.session.wanted === undefined || this.connector.socket !== undefined) return;
        this.connector.credentials = this.credentials.current;
        this.connector.connect();
      },
      (error) => this.credentialsFailed(error),
    );
  }

  /** The `credentials` callback threw: this attempt fails as a lost connection would (a later one asks again). */
  private credentialsFailed(error: LoginError): void {
    this.connector.release()?.close(1000, 'no credentials');
    this.lost(LOST_CODE, error.message, error);
  }

  private sendLogin(): void {
    const wanted = this.session.wanted;
    if (wanted === undefined) return;
    this.connector.socket!.send(this.session.loginFrame(wanted.name, this.credentials.loginFields(this.options.loginFields)));
  }

  /**
   * The hub refused the handshake (HTTP `status`): never a reason to fall
   * back to HTTP. 429 and 503 are lost connections (the next URL, a later
   * attempt); 401 and 403 only other credentials can pass.
   */
  private handshakeRefused(status: number, message: string | undefined): void {
    const reason = refusalOf(status)!;
    const said = message === undefined ? '' : `: ${message}`;
    const error = new LoginError(reason, `The server refused the connection (HTTP ${status} ${reason})${said}`, status);
    if (reason === 'too-many-requests' || reason === 'unavailable') {
      this.lost(LOST_CODE, error.message, error);
      return;
    }
    const wanted = this.session.wanted;
    const stop = () => {
      this.session.stayOnline = false;
      // Settled first, so that a login() does not try the other URLs: a refusal is the host's word.
      this.session.disarm();
      this.session.settle(error);
      this.lost(LOST_CODE, error.message, error);
    };
    if (wanted === undefined || wanted.reasked === true) return stop();
    if (!wanted.automatic) wanted.reasked = true;
    // The login may have timed out while the app was asked: then it is settled already.
    const still = (then: () => void) => () => {
      if (this.session.wanted === wanted) then();
    };
    this.credentials.reask(
      this.reconnection.attempt,
      error,
      // A login() tries at once (within its loginTimeout); an automatic login with the usual backoff.
      still(() => (wanted.automatic ? this.lost(LOST_CODE, error.message, error) : this.connect())),
      still(stop),
      (failure) => still(() => this.credentialsFailed(failure))(),
    );
  }

  private loginReply(reply: LoginSuccess | LoginRefused): void {
    const wanted = this.session.wanted;
    if (wanted === undefined) return;
    if (reply.success) {
      const mismatch = this.session.mismatch(reply, wanted, this.options.acceptAssignedName);
      if (mismatch !== undefined) {
        // Not this client's name: the connection cannot be trusted (1002, as a WebSocket protocol error).
        this.drop(1002, mismatch);
        return;
      }
      this.session.take();
      const event = this.session.accepted(reply, wanted);
      this.connector.loggedInHere = true;
      // Each login reply says what the servers are now (fresh credentials, or none).
      this.setIceServers(iceServersOf(reply.iceServers));
      this.currentState = 'logged-in';
      // Attempts are counted afresh once the held relays are sent (a 4429 while sending them is an attempt too).
      if (this.outbox.startReplay()) this.reconnection.attempt = 0;
      this.outbox.drain();
      this.roomState.loggedIn(event.resumed); // rooms
      this.emit('login', event);
      wanted.resolve?.(event);
      return;
    }
    this.session.take();
    const error = new LoginError(reply.reason, reply.message);
    if (!wanted.automatic) {
      wanted.reject!(error);
    } else if (isTransient(reply.reason)) {
      this.drop(1000, `automatic login refused: ${reply.reason}`);
    } else if (reply.reason === 'unauthorized' || (reply.reason as string) === 'forbidden') {
      // Expired credentials, perhaps: fresh ones get a new connection; the same ones end the session.
      const socket = this.connector.socket;
      this.credentials.reask(
        this.reconnection.attempt,
        error,
        () => this.dropIfStill(socket, `automatic login refused: ${reply.reason}`),
        () => {
          this.session.stayOnline = false;
          this.dropIfStill(socket, `automatic login refused: ${reply.reason}`, error);
        },
        (failure) => this.dropIfStill(socket, failure.message, failure),
      );
    } else {
      // The name is gone for good (taken by someone else, or no longer allowed).
      this.session.stayOnline = false;
      this.drop(1000, `automatic login refused: ${reply.reason}`, error);
    }
  }

  private loginTimedOut(): void {
    if (this.session.wanted === undefined) return;
    this.session.settle(new LoginError('timeout', `No login reply within ${this.options.loginTimeout} ms`));
    // A late reply must not log in a socket the caller gave up on; an automatic login retries on a fresh one.
    this.drop(CloseCode.LoginTimeout, 'no login reply in time');
  }

  /** {@link drop}, unless `socket` is no longer the one in use (the connection was lost meanwhile). */
  private dropIfStill(socket: unknown, reason: string, error?: LoginError): void {
    if (this.connector.socket === socket) this.drop(1000, reason, error);
  }

  /** Lets go of the current socket and handles it as lost. */
  private drop(code: number, reason: string, error?: LoginError): void {
    this.connector.release()?.close(1000, reason);
    this.lost(code, reason, error);
  }

  /** The connection is gone: reconnect or close for good. */
  private lost(code: number, reason: string, error?: LoginError): void {
    this.outbox.stopDraining();
    if (this.connector.lost(code, this.session.wanted?.automatic === false)) {
      // A login() tries each URL once, within its loginTimeout.
      this.connect();
      return;
    }
    this.session.disarm();
    const why = reason === '' ? '' : `: ${reason}`;
    this.session.settle(
      error ?? new LoginError('connection-closed', `The connection closed (${code}${why}) before the login reply`),
    );
    // A 4429 while (or just after) sending the relays held over a reconnection is the client's own
    // doing, not the app flooding: slow down and carry on rather than lose the session.
    const replayFlood = this.outbox.replayFlooded(code, CloseCode.TooManyMessages);
    if (replayFlood) this.outbox.slowDown();
    const reconnecting = this.session.stayOnline && this.reconnection.allows(code, replayFlood);
    if (!reconnecting) {
      this.session.stayOnline = false;
      this.outbox.clear();
      this.roomState.ended(`The connection closed (${code})`); // rooms
    }
    this.currentState = reconnecting ? 'reconnecting' : 'closed';
    this.emit('close', error === undefined ? { code, reason, reconnecting } : { code, reason, reconnecting, error });
    if (reconnecting) this.scheduleReconnect(code === (CloseCode.Reconnect as number));
  }

  /** Schedules the next attempt: an automatic login of the name last held, unless something else happened meanwhile. */
  private scheduleReconnect(drained: boolean): void {
    this.reconnection.schedule(
      drained,
      (event) => this.emit('reconnecting', event),
      () => {
        const current = this.session.current;
        if (this.currentState !== 'reconnecting' || current === undefined) return;
        this.session.wanted = { name: current.name, automatic: true };
        this.startLogin();
      },
    );
  }

  private setIceServers(servers: IceServer[] | undefined): void {
    if (servers === undefined && this.servers === undefined) return;
    this.servers = servers;
    this.emit('ice-servers', { iceServers: servers });
  }
}
