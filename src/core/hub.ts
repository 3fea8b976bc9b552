import { EventEmitter } from 'eventemitter3';
import type { BackplaneHost } from './backplane.js';
import { CloseCode } from '../protocol/close-codes.js';
import { Connection, ConnectionState } from './connection.js';
import { registerAdapterHost } from './adapter-host.js';
import { HubClosedError, toError } from './errors.js';
import type { HubEvents } from './events.js';
import { login } from './login.js';
import { type HubOptions, type ResolvedHubOptions, resolveHubOptions } from './options.js';
import type { LeaveReason, Peer } from './peer.js';
import { RateLimiter } from './rate-limiter.js';
import { Router } from './router.js';
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
export class SignallingHub extends EventEmitter<HubEvents> {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedHubOptions;
  /** Resolves once the backplane (if any) is connected; rejects if it could not start. */
  readonly ready: Promise<void>;
  /** @internal */
  readonly router: Router;
  /** @internal */
  closing = false;
  private readonly connections = new Set<Connection>();
  private nextId = 1;

  constructor(options?: HubOptions) {
    super();
    this.options = resolveHubOptions(options);
    registerAdapterHost(this, {
      reportError: (error) => this.reportError(error),
      warn: (warning) => this.emit('warning', warning),
    });
    this.router = new Router(this.options.backplane);
    const backplane = this.options.backplane;
    if (backplane === undefined) {
      this.ready = Promise.resolve();
    } else {
      const host: BackplaneHost = {
        deliver: (envelope) => this.router.deliver(envelope),
        localClaims: () => this.joinedClaims(),
        claimLost: (name, claimId) => {
          const holder = this.router.names.get(name);
          if (holder !== undefined && holder.claimId === claimId)
            holder.close(CloseCode.ClaimLost, 'name claimed on another node', 'claim-lost');
        },
        nodeDown: (nodeId) => this.router.nodeDown(nodeId),
        remoteNodes: () => this.router.remoteNodes(),
        error: (error) => this.reportError(error),
        stateChanged: (state) => this.emit('backplane-state', state),
      };
      this.ready = backplane.start(host);
      // `ready` is for hosts that await it; failures also reach the error event.
      this.ready.catch((error: unknown) => this.reportError(error));
    }
  }

  /**
   * Hands the hub a new connection. Adapters call this; the returned session
   * is fed every frame and told when the connection closes. After `close()`,
   * the connection is closed at once with 1001.
   */
  open(transport: Transport, info: ConnectionInfo = {}): TransportSession {
    const { rateLimit, loginTimeout } = this.options;
    const limiter = rateLimit === false ? undefined : new RateLimiter(rateLimit.messagesPerSecond, rateLimit.burst, Date.now());
    const connection = new Connection(this, this.nextId++, transport, info.remoteAddress, limiter);
    if (this.closing) {
      connection.state = ConnectionState.Closed;
      transport.close(CloseCode.GoingAway, 'hub closed');
      return connection;
    }
    connection.request = info.request;
    this.connections.add(connection);
    if (loginTimeout > 0) {
      connection.loginTimer = setTimeout(
        () => connection.close(CloseCode.LoginTimeout, 'no login in time', 'closed'),
        loginTimeout,
      );
    }
    return connection;
  }

  /** Whether `close()` was called: the hub refuses new connections and `attach()`. */
  get closed(): boolean {
    return this.closing;
  }

  /** Logged-in peers on this node. */
  get size(): number {
    let count = 0;
    for (const connection of this.router.names.values()) if (connection.state === ConnectionState.Joined) count++;
    return count;
  }

  /** The logged-in peers on this node. */
  *peers(): IterableIterator<Peer> {
    for (const connection of this.router.names.values()) {
      if (connection.state === ConnectionState.Joined) yield connection;
    }
  }

  /** The peer holding `name` on this node, if any. */
  getPeer(name: string): Peer | undefined {
    const connection = this.router.names.get(name);
    return connection?.state === ConnectionState.Joined ? connection : undefined;
  }

  /**
   * Sends a message of the host's own to the peer holding `name`, on this
   * node or, through the backplane, on another. Resolves to whether it was
   * delivered. Throws {@link HubClosedError} after `close()`.
   */
  async send(name: string, message: object): Promise<boolean> {
    if (this.closing) throw new HubClosedError();
    const frame = JSON.stringify(message);
    const local = this.router.names.get(name);
    if (local?.state === ConnectionState.Joined) {
      local.send(frame);
      return true;
    }
    const backplane = this.options.backplane;
    if (backplane === undefined || local !== undefined) return false;
    const result = await backplane.forward({ kind: 'message', from: '', fromNode: backplane.nodeId, to: name, frame });
    return result.delivered;
  }

  /**
   * Closes the connection of the peer holding `name` on this node with 4403
   * and `reason`. Its call partners hear `leave`. Returns whether it was here.
   */
  disconnect(name: string, reason = 'disconnected by the server'): boolean {
    const connection = this.router.names.get(name);
    if (connection?.state !== ConnectionState.Joined) return false;
    connection.close(CloseCode.Forbidden, reason, 'disconnected');
    return true;
  }

  /**
   * Closes every connection with 1001 (call partners elsewhere hear `leave`),
   * refuses new ones, and closes the backplane. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const connection of [...this.connections]) connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
    await this.options.backplane?.close();
  }

  /** @internal A login started by a connection. */
  login(connection: Connection, message: Record<string, unknown>): void {
    login(this, connection, message).catch((error: unknown) => {
      this.reportError(error);
      connection.close(CloseCode.InternalError, 'internal error', 'closed');
    });
  }

  /** @internal */
  joined(connection: Connection): void {
    this.emit('peer-joined', connection);
  }

  /** @internal Releases everything a closing connection held. */
  release(connection: Connection, why: LeaveReason, code: number | undefined): void {
    const wasJoined = connection.state === ConnectionState.Joined;
    connection.state = ConnectionState.Closed;
    this.connections.delete(connection);
    if (connection.loginTimer !== undefined) clearTimeout(connection.loginTimer);
    connection.loginTimer = undefined;
    connection.request = undefined;
    connection.pending = undefined;
    const name = connection.name;
    if (name === undefined) return;
    this.router.release(name, connection, wasJoined);
    if (!wasJoined) return;
    this.router.notifyPartners(connection);
    this.emit('peer-left', { name, reason: why, code, peer: connection });
  }

  /** @internal */
  protocolError(connection: Connection, code: string, message: string): void {
    this.emit('protocol-error', { id: connection.id, name: connection.name, code, message });
  }

  /** @internal */
  reportError(error: unknown): void {
    this.emit('error', toError(error));
  }

  private *joinedClaims(): IterableIterator<readonly [string, string]> {
    for (const [name, connection] of this.router.names) {
      if (connection.state === ConnectionState.Joined) yield [name, connection.claimId];
    }
  }
}
