import { EventEmitter } from 'eventemitter3';
import { CloseCode } from '../protocol/close-codes.js';
import { type AdapterPort, HubAdapterPort } from './adapter-port.js';
import { Connection, type ConnectionHost } from './connection.js';
import { ConnectionState } from './connection-state.js';
import { InvalidArgumentError, toError } from './errors.js';
import type { HubEvents } from './events.js';
import { HostCalls } from './host-calls.js';
import { type BackplaneLink, linkBackplane } from './hub-backplane.js';
import { hubConnectionHost } from './hub-connection-host.js';
import { HubLifecycle } from './hub-lifecycle.js';
import type { HubParts } from './hub-parts.js';
import { hubStats } from './hub-stats.js';
import type { LoginHost } from './login.js';
import { describeValue } from './option-check.js';
import { type HubOptions, type ResolvedHubOptions, resolveHubOptions } from './options.js';
import type { Peer } from './peer.js';
import { admissionOf } from './admitted.js';
import { DISCONNECT_CHANNEL, type DeliveryResult, parseDisconnect } from './remote-disconnect.js';
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
  private nextId = 1;
  /** Accepting, draining, closed; the open connections per address. */
  private readonly lifecycle: HubLifecycle;
  /** The host's calls about one peer or one room. */
  private readonly calls: HostCalls;
  private readonly backplaneLink: BackplaneLink;

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
    this.lifecycle = new HubLifecycle(this.router, this.options.backplane);
    this.roomService = this.roomsOf(reportError);
    this.adapterPort = this.port = new HubAdapterPort(
      this,
      reportError,
      (warning) => this.emit('warning', warning),
      (address) => this.lifecycle.openFrom(address),
    );
    const parts: HubParts = {
      events: this as EventEmitter<HubEvents>,
      options: this.options,
      router: this.router,
      rooms: this.roomService,
      counters: this.counters,
      lifecycle: this.lifecycle,
      port: this.port,
      reportError,
    };
    this.calls = new HostCalls(parts);
    this.port.handleNodeMessages(ROOMS_CHANNEL, (_fromNode, payload) => this.roomService.nodeRequest(payload));
    // Another node asks for a peer of this one to be closed (hub.disconnect(), duplicateNames: 'replace').
    this.port.handleNodeMessages(DISCONNECT_CHANNEL, (_fromNode, payload) => {
      const request = parseDisconnect(payload);
      if (request === undefined) return '0';
      return this.calls.closeLocal(request.name, request.reason, request.replace) ? '1' : '0';
    });
    this.host = hubConnectionHost(parts);
    this.backplaneLink = linkBackplane(parts);
    this.ready = this.backplaneLink.ready;
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
    return this.lifecycle.closing;
  }

  /** Whether `drain()` or `close()` was called: adapters refuse new connections (the ws adapter answers 503). */
  get accepting(): boolean {
    return this.lifecycle.accepting;
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
    const { loginTimeout } = this.options;
    // Behind trusted proxies, admission found the client's own address.
    const address = this.lifecycle.sharedAddress(admissionOf(info.request)?.address ?? info.remoteAddress);
    const connection = new Connection(this.host, this.nextId++, transport, address);
    if (!this.accepting) {
      connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
      return connection;
    }
    this.lifecycle.track(connection);
    connection.start(info.request, loginTimeout);
    return connection;
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
  deliver(name: string, message: object): Promise<DeliveryResult> {
    return this.calls.deliver(name, message);
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
    return this.calls.disconnect(name, reason);
  }

  /**
   * Closes the connection of the peer holding `name`, on this node or any
   * other, as {@link disconnect} does; resolves whether one was closed.
   * @throws {@link InvalidArgumentError} when `name` or `reason` is not a string.
   */
  disconnectAnywhere(name: string, reason = 'disconnected by the server'): Promise<boolean> {
    return this.calls.disconnectAnywhere(name, reason);
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
    return this.calls.join(name, room);
  }

  /**
   * Takes the peer holding `name` (on any node, as for {@link join}) out of `room`: it gets
   * `{"type":"part","success":true}`, the others hear `parted`. Resolves to
   * whether it was a member.
   * @throws {@link HubClosedError} after `close()`; {@link InvalidArgumentError} for a
   * `name` or `room` that is not a string.
   */
  part(name: string, room: string): Promise<boolean> {
    return this.calls.part(name, room);
  }

  /**
   * Sends `data` to every member of `room`, on every node, as
   * `{"type":"broadcast","room":R,"data":X}` (no `name`: it comes from the
   * host). Members that are not reading fast enough miss it.
   * @throws {@link HubClosedError} after `close()`; {@link InvalidArgumentError} for a
   * `room` that is not a string or `data` that is not JSON-serialisable.
   */
  broadcast(room: string, data: unknown): Promise<void> {
    return this.calls.broadcast(room, data);
  }

  /**
   * The members of `room` in the order they joined: with a backplane that
   * has rooms, on every node (asked of the cluster's bus); otherwise on this one.
   */
  members(room: string): Promise<string[]> {
    return this.calls.members(room);
  }

  /** The rooms with at least one member: cluster-wide with a backplane that has rooms, as for {@link members}. */
  rooms(): Promise<string[]> {
    return this.roomService.rooms();
  }

  /** Counters and gauges of this hub for dashboards and metrics (see {@link HubStats}). */
  stats(): HubStats {
    return hubStats(this.counters, this.lifecycle, this.router, this.options.backplane, this.backplaneLink.state);
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
    return this.lifecycle.drain(timeout);
  }

  /**
   * Closes every connection with 1001 and ends every reservation (call
   * partners, here and on other nodes, hear `leave`), refuses new
   * connections, and closes the backplane. Idempotent.
   */
  close(): Promise<void> {
    return this.lifecycle.close();
  }
}
