import { EventEmitter } from 'eventemitter3';
import { CloseCode } from '../protocol/close-codes.js';
import { type AdapterPort, HubAdapterPort } from './adapter-port.js';
import type { BackplaneHost, BackplaneState } from './backplane.js';
import { Connection, type ConnectionHost } from './connection.js';
import { ConnectionState } from './connection-state.js';
import { HubClosedError, InvalidArgumentError, toError } from './errors.js';
import { hookSource } from './ice-servers.js';
import type { HubEvents } from './events.js';
import { checkName } from '../protocol/names.js';
import { type LoginHost, login, sameToken } from './login.js';
import { describeValue } from './option-check.js';
import { type HubOptions, type ResolvedHubOptions, resolveHubOptions } from './options.js';
import type { Peer } from './peer.js';
import { RateLimiter } from './rate-limiter.js';
import { admissionOf } from './admitted.js';
import { DISCONNECT_CHANNEL, type DeliveryResult, closeRemote, parseDisconnect } from './remote-disconnect.js';
import { Router } from './router.js';
import { ROOMS_CHANNEL, Rooms } from './rooms/rooms.js';
import { HubCounters, type HubStats } from './stats.js';
import type { ConnectionInfo, Transport, TransportSession } from './transport.js';

/**
 * The signalling hub: registers names and relays offer, answer, candidate and
 * leave between them. It owns no socket; adapters (`signalling-hub/ws`) hand
 * it connections through {@link SignallingHub.open}.
 *
 * @example
 * ```ts
 * const hub = new SignallingHub();
 * hub.on('peer-joined', (peer) => console.log('joined', peer.name));
 * attach(hub, server, { path: '/signalling' });
 * ```
 */
export class SignallingHub<D = unknown, U = unknown> extends EventEmitter<HubEvents<D>> {
  /** The options in force, defaults filled in (frozen). */
  readonly options: ResolvedHubOptions;
  /** Resolves once the backplane (if any) is connected; rejects if it could not start. */
  readonly ready: Promise<void>;
  /**
   * What transport adapters use to serve this hub: open connections, report
   * errors and warnings, reach other nodes (see {@link AdapterPort}). Built
   * once; the same object for the hub's lifetime.
   */
  readonly adapterPort: AdapterPort;
  private readonly port: HubAdapterPort;
  private readonly router: Router;
  private readonly roomService: Rooms;
  private readonly counters = new HubCounters();
  private readonly host: ConnectionHost & LoginHost;
  private closing = false;
  private draining: (() => void) | undefined;
  private readonly connections = new Set<Connection>();
  private nextId = 1;
  private backplaneState: BackplaneState | 'none';
  /** Open connections per remote address, for the transports' per-address caps. */
  private readonly perAddress = new Map<string, number>();

  /**
   * `D` types `peer.data` on every event and host call; `U` is what the
   * transport's `verifyUpgrade` resolves (it reaches `authenticate` as `upgrade`).
   * @throws {@link InvalidOptionError} for an unknown option or a value it cannot work with.
   */
  constructor(options?: HubOptions<D, U>) {
    super();
    this.options = resolveHubOptions(options);
    const reportError = (error: unknown) => this.emit('error', toError(error));
    this.router = new Router(this.options.backplane, this.counters, reportError, this.options);
    this.roomService = this.roomsOf(reportError);
    this.adapterPort = this.port = new HubAdapterPort(
      this,
      reportError,
      (warning) => this.emit('warning', warning),
      (address) => this.perAddress.get(address) ?? 0,
    );
    this.port.handleNodeMessages(ROOMS_CHANNEL, (_fromNode, payload) => this.roomService.nodeRequest(payload));
    // Another node asks for a peer of this one to be closed (hub.disconnect(), duplicateNames: 'replace').
    this.port.handleNodeMessages(DISCONNECT_CHANNEL, (_fromNode, payload) => {
      const request = parseDisconnect(payload);
      if (request === undefined) return '0';
      return this.closeLocal(request.name, request.reason, request.replace) ? '1' : '0';
    });
    // Claim ids only need to differ from this process's other claims of a name (Redis stores them with the node id);
    // without a backplane nothing reads them, so an idle peer holds none.
    let claims = 0;
    const { turn, iceServers, iceServersRefreshInterval } = this.options;
    this.host = {
      nextClaimId: this.options.backplane === undefined ? () => '' : () => (++claims).toString(36),
      iceServerSource: turn ?? (iceServers === undefined ? undefined : hookSource(iceServers, iceServersRefreshInterval)),
      options: this.options,
      router: this.router,
      counters: this.counters,
      nodeId: this.options.backplane?.nodeId,
      closing: () => !this.accepting,
      room: (connection, type, message) => this.roomService.request(connection, type, message),
      evictRemote: (name, reason) => closeRemote(this.options.backplane, this.port.sendToNode, name, reason, true),
      login: (connection, message) => {
        login(this.host, connection, message).catch((error: unknown) => {
          reportError(error);
          connection.close(CloseCode.InternalError, 'internal error', 'closed');
        });
      },
      joined: (connection) => {
        if (this.listenerCount('peer-joined') > 0) this.emit('peer-joined', connection.peer() as Peer<D>);
      },
      dropped: (connection, code, expiresAt) => {
        this.untrack(connection);
        if (this.listenerCount('peer-dropped') > 0)
          this.emit('peer-dropped', { peer: connection.peer() as Peer<D>, code, expiresAt });
        this.settleDrain();
      },
      handedOver: (connection) => {
        this.untrack(connection);
        // Still the holder: the name moved to another node (a take-over here has reserved it already).
        if (this.router.holder(connection.name) === connection) this.roomService.movedAway(connection.name);
        // Handed to another node: the name is no longer here (its claim moved with it, so nothing is released).
        this.router.forget(connection.name, connection);
        this.settleDrain();
      },
      resumed: (connection, previous) => {
        this.counters.resumes++;
        // Resumed from another node: its partners must know where its `leave` will come from.
        if (previous.node !== this.options.backplane?.nodeId) {
          this.router.movedHere(connection);
          if (previous.node !== undefined) this.roomService.movedHere(connection.name, previous.node);
        }
        if (this.listenerCount('peer-resumed') > 0)
          this.emit('peer-resumed', { peer: connection.peer() as Peer<D>, previous: previous as Peer<D> });
      },
      left: (connection, why, code, wasJoined) => {
        this.untrack(connection);
        const name = connection.name;
        if (name !== undefined) {
          this.router.release(name, connection, wasJoined);
          if (wasJoined) {
            this.router.notifyPartners(connection);
            // A take-over with the token ('replaced') keeps the name, and with it the rooms.
            if (why !== 'replaced') this.roomService.gone(name);
            this.emit('peer-left', { name, reason: why, code, peer: connection.peer() as Peer<D> });
          }
        }
        this.settleDrain();
      },
      protocolError: (connection, code, message) => {
        HubCounters.bump(this.counters.protocolErrors, code);
        if (this.listenerCount('protocol-error') > 0) {
          this.emit('protocol-error', { id: connection.id, name: connection.name, code, message });
        }
      },
      reportError,
    };
    const backplane = this.options.backplane;
    if (backplane === undefined) {
      this.backplaneState = 'none';
      this.ready = Promise.resolve();
    } else {
      this.backplaneState = 'connecting';
      const { resumeMaxMessages, resumeMaxBytes, maxNameLength, maxCallsPerPeer } = this.options;
      const backplaneHost: BackplaneHost = {
        resumeBounds: { maxMessages: resumeMaxMessages, maxBytes: resumeMaxBytes, maxNameLength, maxCalls: maxCallsPerPeer },
        deliver: (envelope) => this.router.deliver(envelope),
        localClaims: () => this.router.claims(),
        claimLost: (name, claimId) => {
          const holder = this.router.holder(name);
          if (holder !== undefined && holder.claimId === claimId) {
            holder.close(CloseCode.ClaimLost, 'name claimed on another node', 'claim-lost');
          }
        },
        nodeDown: (nodeId) => {
          this.router.nodeDown(nodeId);
          this.roomService.nodeDown(nodeId);
        },
        remoteNodes: () => {
          const nodes = this.router.remoteNodes();
          this.roomService.table.remoteNodes(nodes);
          return nodes;
        },
        roomMessage: (fromNode, message) => this.roomService.received(fromNode, message),
        error: reportError,
        handOverRequested: (name, token) => {
          const holder = this.router.holder(name);
          if (holder === undefined || !holder.resumable || !sameToken(holder.token, token)) return undefined;
          const grant = holder.beginTransfer(backplane.nodeId);
          return grant === undefined ? undefined : { claimId: holder.claimId, grant };
        },
        handOverSettled: (name, committed) => {
          const holder = this.router.holder(name);
          if (holder?.state === ConnectionState.Transferring) holder.settleTransfer(committed);
        },
        grantAbandoned: (name, grant) => this.router.abandonGrant(name, grant),
        nodeMessage: (fromNode, channel, payload) => this.port.dispatch(fromNode, channel, payload),
        stateChanged: (state) => {
          if (state === this.backplaneState) return;
          this.backplaneState = state;
          this.emit('backplane-state', state);
        },
      };
      this.ready = backplane.start(backplaneHost).then(() => {
        // A custom backplane that reports no states is connected once started.
        if (backplane.status === undefined) backplaneHost.stateChanged('connected');
      });
      // `ready` is for hosts that await it; failures also reach the error event.
      this.ready.catch(reportError);
    }
  }

  private roomsOf(reportError: (error: unknown) => void): Rooms {
    return new Rooms({
      options: this.options,
      holder: (name) => this.router.holder(name),
      names: () => this.joinedNames(),
      joined: (room, peer) => {
        if (this.listenerCount('room-joined') > 0) this.emit('room-joined', { room, peer });
      },
      parted: (room, name, reason) => {
        if (this.listenerCount('room-parted') > 0) this.emit('room-parted', { room, name, reason });
      },
      refused: (connection, reason, message) => this.host.protocolError(connection, reason, message),
      reportError,
    });
  }

  private *joinedNames(): IterableIterator<string> {
    for (const connection of this.router.inState(ConnectionState.Joined)) yield connection.name;
  }

  /** Whether `close()` was called: the hub refuses new connections, and `attach()` refuses it. */
  get closed(): boolean {
    return this.closing;
  }

  /** Whether `drain()` or `close()` was called: adapters refuse new connections (the ws adapter answers 503). */
  get accepting(): boolean {
    return !this.closing && this.draining === undefined;
  }

  /**
   * Hands the hub a new connection. Adapters call this; the returned session
   * is fed every frame and told when the connection closes. After `close()`,
   * the connection is closed at once with 1001.
   * @throws {@link InvalidArgumentError} when `transport` lacks `send` or `close`.
   */
  open(transport: Transport, info: ConnectionInfo = {}): TransportSession {
    if (typeof transport?.send !== 'function' || typeof transport.close !== 'function') {
      throw new InvalidArgumentError('transport', 'an object with send() and close()', describeValue(transport));
    }
    const { rateLimit, loginTimeout } = this.options;
    const limiter = rateLimit === false ? undefined : new RateLimiter(rateLimit.messagesPerSecond, rateLimit.burst, Date.now());
    // Behind trusted proxies, admission found the client's own address.
    const address = admissionOf(info.request)?.address ?? info.remoteAddress;
    const connection = new Connection(this.host, this.nextId++, transport, address, limiter);
    if (!this.accepting) {
      connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
      return connection;
    }
    this.connections.add(connection);
    if (address !== undefined) this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    connection.start(info.request, loginTimeout);
    return connection;
  }

  /** A connection is no longer open here: it leaves the set and its address's count. */
  private untrack(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const address = connection.remoteAddress;
    if (address === undefined) return;
    const count = (this.perAddress.get(address) ?? 1) - 1;
    if (count > 0) this.perAddress.set(address, count);
    else this.perAddress.delete(address);
  }

  /** Logged-in peers on this node. */
  get size(): number {
    return this.router.count(ConnectionState.Joined);
  }

  /** The logged-in peers on this node, as read-only views. */
  *peers(): IterableIterator<Peer<D>> {
    for (const connection of this.router.inState(ConnectionState.Joined)) yield connection.peer() as Peer<D>;
  }

  /** The peer holding `name` on this node, if any. */
  getPeer(name: string): Peer<D> | undefined {
    if (typeof name !== 'string') return undefined;
    const connection = this.router.holder(name);
    return connection?.state === ConnectionState.Joined ? (connection.peer() as Peer<D>) : undefined;
  }

  /**
   * Sends a message of the host's own to the peer holding `name`, on this
   * node or, through the backplane, on another. Resolves to whether it was
   * delivered or held for a dropped peer (false when nobody holds the name,
   * the peer is not reading fast enough, or the backplane is down:
   * {@link deliver} tells which).
   * @throws {@link HubClosedError} after `close()`; {@link InvalidArgumentError} for a
   * `name` that is not a string or a `message` that is not a JSON-serialisable object.
   */
  async send(name: string, message: object): Promise<boolean> {
    const result = await this.deliver(name, message);
    return result === 'delivered' || result === 'held';
  }

  /**
   * Sends a message of the host's own to the peer holding `name`, on this
   * node or another, and resolves to what became of it: `delivered`;
   * `held` for a dropped peer that may resume; `not-found`: nobody holds
   * the name; `congested`: the peer is not reading fast enough (see
   * `maxBufferedBytes`) or too much is held for it, and it was dropped;
   * `unavailable`: the backplane is down. For a peer on another node,
   * `delivered` means its node took the message (it tells no congestion back).
   * @throws {@link HubClosedError} after `close()`; {@link InvalidArgumentError} for a
   * `name` that is not a string or a `message` that is not a JSON-serialisable object.
   */
  async deliver(name: string, message: object): Promise<DeliveryResult> {
    if (this.closing) throw new HubClosedError();
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', describeValue(name));
    let frame: string;
    try {
      if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new TypeError('not an object');
      frame = JSON.stringify(message);
    } catch (error) {
      throw new InvalidArgumentError('message', 'a JSON-serialisable object', describeValue(message), error);
    }
    const local = this.router.holder(name);
    if (local?.state === ConnectionState.Joined) return local.deliver(frame) ? 'delivered' : 'congested';
    if (local?.state === ConnectionState.Dropped) return local.park(frame, '', null, 'message') ? 'held' : 'congested';
    const backplane = this.options.backplane;
    // A login still claiming the name here is not its holder: the backplane finds the holder, if any.
    if (backplane === undefined || (local !== undefined && (local.state !== ConnectionState.LoggingIn || local.resuming)))
      return 'not-found';
    const result = await backplane.forward({ kind: 'message', from: '', fromNode: backplane.nodeId, to: name, frame });
    return result.delivered ? 'delivered' : result.reason;
  }

  /**
   * Closes the connection of the peer holding `name` with 4403 and `reason`
   * (cut to 123 UTF-8 bytes). Its call partners hear `leave`. Returns whether
   * it was on this node; when it was not and the hub has a backplane, the
   * request goes on to the node that holds it (await
   * {@link disconnectAnywhere} to learn whether it was found there).
   * @throws {@link InvalidArgumentError} when `name` or `reason` is not a string.
   */
  disconnect(name: string, reason = 'disconnected by the server'): boolean {
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', describeValue(name));
    if (typeof reason !== 'string') throw new InvalidArgumentError('reason', 'a string', describeValue(reason));
    if (this.closeLocal(name, reason, false)) return true;
    if (this.options.backplane !== undefined && !this.closing)
      closeRemote(this.options.backplane, this.port.sendToNode, name, reason, false).catch(this.port.reportError);
    return false;
  }

  /**
   * Closes the connection of the peer holding `name`, on this node or any
   * other, as {@link disconnect} does; resolves whether one was closed.
   * @throws {@link InvalidArgumentError} when `name` or `reason` is not a string.
   */
  async disconnectAnywhere(name: string, reason = 'disconnected by the server'): Promise<boolean> {
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', describeValue(name));
    if (typeof reason !== 'string') throw new InvalidArgumentError('reason', 'a string', describeValue(reason));
    if (this.closeLocal(name, reason, false)) return true;
    if (this.options.backplane === undefined || this.closing) return false;
    return closeRemote(this.options.backplane, this.port.sendToNode, name, reason, false);
  }

  /** Closes the local holder of `name` (joined or dropped): 4409 for a replacement, else 4403. */
  private closeLocal(name: string, reason: string, replace: boolean): boolean {
    const connection = this.router.holder(name);
    // A dropped peer's reservation ends too.
    if (connection?.state !== ConnectionState.Joined && connection?.state !== ConnectionState.Dropped) return false;
    if (replace) connection.close(CloseCode.Replaced, reason, 'replaced');
    else connection.close(CloseCode.Forbidden, reason, 'disconnected');
    return true;
  }

  /**
   * Puts the peer holding `name`, on this node or (with a cluster backplane)
   * another, in `room`, as if it had sent `join` (without asking
   * `authorizeJoin`; the room limits apply): it gets the `join` reply, the
   * other members hear `joined`. Resolves to whether it is a member now
   * (false when no node holds it or a limit refused).
   * @throws {@link HubClosedError} after `close()`; {@link InvalidArgumentError} for a
   * `name` that is not a string or a `room` that breaks the name rules.
   */
  join(name: string, room: string): Promise<boolean> {
    this.checkRoomCall(name, room);
    if (this.holdsPeer(name)) return this.roomService.hostJoin(name, room);
    return this.roomService.remote('join', name, room);
  }

  /**
   * Takes the peer holding `name` (on any node, as for {@link join}) out of `room`: it gets
   * `{"type":"part","success":true}`, the others hear `parted`. Resolves to
   * whether it was a member.
   * @throws {@link HubClosedError} after `close()`; {@link InvalidArgumentError} for a
   * `name` or `room` that is not a string.
   */
  part(name: string, room: string): Promise<boolean> {
    this.checkRoomCall(name, room);
    if (this.holdsPeer(name)) return Promise.resolve(this.roomService.hostPart(name, room));
    return this.roomService.remote('part', name, room);
  }

  /** Whether a peer of this node (logged in, or dropped and resumable) holds `name`. */
  private holdsPeer(name: string): boolean {
    const state = this.router.holder(name)?.state;
    return state === ConnectionState.Joined || state === ConnectionState.Dropped;
  }

  /**
   * Sends `data` to every member of `room`, on every node, as
   * `{"type":"broadcast","room":R,"data":X}` (no `name`: it comes from the
   * host). Members that are not reading fast enough miss it.
   * @throws {@link HubClosedError} after `close()`; {@link InvalidArgumentError} for a
   * `room` that is not a string or `data` that is not JSON-serialisable.
   */
  broadcast(room: string, data: unknown): Promise<void> {
    if (this.closing) throw new HubClosedError();
    if (typeof room !== 'string') throw new InvalidArgumentError('room', 'a string', describeValue(room));
    let dataJson: string | undefined;
    try {
      dataJson = JSON.stringify(data);
    } catch (error) {
      throw new InvalidArgumentError('data', 'a JSON-serialisable value', describeValue(data), error);
    }
    if (dataJson === undefined) throw new InvalidArgumentError('data', 'a JSON-serialisable value', describeValue(data));
    this.roomService.hostBroadcast(room, dataJson);
    return Promise.resolve();
  }

  /**
   * The members of `room` in the order they joined: with a backplane that
   * has rooms, on every node (asked of the cluster's bus); otherwise on this one.
   */
  members(room: string): Promise<string[]> {
    if (typeof room !== 'string') throw new InvalidArgumentError('room', 'a string', describeValue(room));
    return this.roomService.members(room);
  }

  /** The rooms with at least one member: cluster-wide with a backplane that has rooms, as for {@link members}. */
  rooms(): Promise<string[]> {
    return this.roomService.rooms();
  }

  private checkRoomCall(name: string, room: string): void {
    if (this.closing) throw new HubClosedError();
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', describeValue(name));
    const invalid = typeof room === 'string' ? checkName(room, this.options.maxNameLength) : 'a string';
    if (invalid !== undefined) throw new InvalidArgumentError('room', 'a room name (the name rules apply)', describeValue(room));
  }

  /** Counters and gauges of this hub for dashboards and metrics (see {@link HubStats}). */
  stats(): HubStats {
    const c = this.counters;
    let queuedBytes = 0;
    for (const connection of this.connections) queuedBytes += connection.queuedBytes;
    const status = this.options.backplane?.status?.();
    const relays = {} as Record<keyof typeof c.relays, { local: number; crossNode: number }>;
    for (const type of Object.keys(c.relays) as Array<keyof typeof c.relays>) relays[type] = { ...c.relays[type] };
    const droppedPeers = this.router.count(ConnectionState.Dropped);
    return {
      peers: this.size,
      connections: this.connections.size,
      droppedPeers,
      heldBytes: this.router.heldBytes(),
      resumes: c.resumes,
      logins: c.logins,
      loginRefusals: { ...c.loginRefusals },
      relays,
      relaysFromCluster: c.relaysFromCluster,
      protocolErrors: { ...c.protocolErrors },
      closes: { ...c.closes },
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      queuedBytes,
      backplane: { state: status?.state ?? this.backplaneState, roundTripMs: status?.roundTripMs },
    };
  }

  /**
   * Drains the hub for a restart or a deploy: refuses new connections and
   * logins; tells every resumable peer to reconnect and resume (close 4503:
   * its name stays reserved for `resumeGrace`, behind a load balancer it
   * resumes on another node) and closes the others with 1001 (their partners
   * hear `leave`); then waits until every connection and, with a backplane,
   * every reservation is gone (resumed elsewhere or expired) or `timeout` ms
   * passed, and closes the hub.
   * Idempotent; `close()` during a drain ends it at once.
   */
  async drain(options: { timeout?: number } = {}): Promise<void> {
    const timeout = options?.timeout ?? this.options.resumeGrace + 5000;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
      throw new InvalidArgumentError('options.timeout', 'a non-negative number of milliseconds', describeValue(timeout));
    }
    if (this.closing) return;
    if (this.draining === undefined) {
      const drained = new Promise<void>((resolve) => (this.draining = resolve));
      for (const connection of [...this.connections]) {
        if (!connection.dropToResume('server restarting: reconnect and resume')) {
          connection.close(CloseCode.GoingAway, 'server going away', 'hub-closed');
        }
      }
      this.settleDrain();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
      clearTimeout(timer);
    }
    await this.close();
  }

  /**
   * Resolves a drain once nothing is left: no connection and, with a backplane,
   * no reserved name (without one, nobody can resume elsewhere: nothing to wait for).
   */
  private settleDrain(): void {
    if (this.draining === undefined || this.connections.size > 0) return;
    if (this.options.backplane !== undefined && this.router.count(ConnectionState.Dropped) > 0) return;
    this.draining();
  }

  /**
   * Closes every connection with 1001 and ends every reservation (call
   * partners, here and on other nodes, hear `leave`), refuses new
   * connections, and closes the backplane. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const connection of [...this.connections]) connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
    for (const connection of this.router.inState(ConnectionState.Dropped)) {
      connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
    }
    this.draining?.();
    await this.options.backplane?.close();
  }
}
