import type { Backplane, NodeReply } from './backplane.js';
import type { SignallingHubError } from './errors.js';
import type { ResolvedHubOptions } from './options.js';
import type { ConnectionInfo, Transport, TransportSession } from './transport.js';

/**
 * Answers a request another node sent on one channel (see
 * {@link AdapterPort.handleNodeMessages}). Its result goes back to the
 * sender; `undefined`: no answer to give.
 */
export type NodeMessageHandler = (fromNode: string, payload: string) => Promise<string | undefined> | string | undefined;

/** Options of {@link AdapterPort.sendToNode}. */
export interface SendToNodeOptions {
  /** Milliseconds to wait for the answer (the backplane's default when absent). */
  readonly timeoutMs?: number;
}

/**
 * Everything a transport adapter needs from a hub; the built-in adapters
 * (`signalling-hub/ws`, its HTTP fallback) use nothing else, so an adapter
 * written outside this package has the same powers. Reach it as
 * `hub.adapterPort`; its functions may be called detached from it. Adapters should find it by shape
 * (`typeof hub?.adapterPort?.open === 'function'`), not by `instanceof`, so
 * that a hub of another copy of the package (its CommonJS build next to the
 * ESM one) works too.
 *
 * @example A transport over anything that carries text frames
 * ```ts
 * const port = hub.adapterPort;
 * if (!port.accepting) return refuse(503);
 * const session = port.open({ send: (text) => socket.write(text), close: (code, reason) => socket.end() }, { remoteAddress });
 * socket.on('line', (line) => session.receive(line));
 * socket.on('close', () => session.closed(1006));
 * ```
 */
export interface AdapterPort {
  /** The hub's options in force (`maxMessageBytes`, `maxBufferedBytes`…), frozen. */
  readonly options: ResolvedHubOptions;
  /** The hub's node id in a cluster (its backplane's), `undefined` on a single node. */
  readonly nodeId: string | undefined;
  /** `false` while the hub drains or once it is closed: answer new connections `503`. */
  readonly accepting: boolean;
  /** Whether the hub is closed (`attach()` refuses a closed hub). */
  readonly closed: boolean;
  /**
   * Hands the hub a new connection; the returned session is fed every frame
   * and told when the connection closes. Same as `hub.open()`.
   * @throws `InvalidArgumentError` when `transport` lacks `send` or `close`.
   */
  readonly open: (transport: Transport, info?: ConnectionInfo) => TransportSession;
  /** Emits `error` on the hub (wrapped in an `Error` if it is not one). */
  readonly reportError: (error: unknown) => void;
  /** Emits `warning` on the hub: a degraded mode worth one log line, not a failure. */
  readonly warn: (warning: SignallingHubError) => void;
  /**
   * Sends a request to the adapter on another node listening on `channel`
   * ({@link handleNodeMessages}) and waits for its answer. `undefined` when
   * the hub has no backplane, or one that cannot carry such requests.
   */
  readonly sendToNode:
    ((nodeId: string, channel: string, payload: string, options?: SendToNodeOptions) => Promise<NodeReply>) | undefined;
  /**
   * Answers requests other nodes send on `channel` with `handler` (one per
   * channel: a later one replaces it). Pick a channel your adapter owns
   * (e.g. its package name and path). Returns the function that stops it.
   */
  readonly handleNodeMessages: (channel: string, handler: NodeMessageHandler) => () => void;
  /**
   * Connections open on this hub from `address` (for per-address caps at
   * admission). Optional so that ports written before it (wrappers such as a
   * dialect's) still type-check; admission counts none without it.
   */
  readonly connectionsFrom?: (address: string) => number;
}

/**
 * A port that is `port` in everything but `open`: what a dialect hands to an
 * adapter (`attach(dialect, server)`) to translate frames at the edge while
 * the hub's own port does the rest (options, admission state, node messages,
 * per-address counts), read live from it.
 */
export function decorateAdapterPort(
  port: AdapterPort,
  open: (transport: Transport, info?: ConnectionInfo) => TransportSession,
): AdapterPort {
  return {
    get options() {
      return port.options;
    },
    nodeId: port.nodeId,
    get accepting() {
      return port.accepting;
    },
    get closed() {
      return port.closed;
    },
    open,
    reportError: (error) => port.reportError(error),
    warn: (warning) => port.warn(warning),
    sendToNode: port.sendToNode,
    handleNodeMessages: (channel, handler) => port.handleNodeMessages(channel, handler),
    connectionsFrom: (address) => port.connectionsFrom?.(address) ?? 0,
  };
}

/** The part of the hub its port reads (the hub itself). */
export type AdapterPortHub = Pick<AdapterPort, 'options' | 'accepting' | 'closed' | 'open'>;

/**
 * The port of one hub, and the node-message handlers registered on it
 * (the hub hands requests from other nodes to {@link dispatch}).
 * @internal
 */
export class HubAdapterPort implements AdapterPort {
  readonly nodeId: string | undefined;
  readonly sendToNode: AdapterPort['sendToNode'];
  private readonly handlers = new Map<string, NodeMessageHandler>();

  constructor(
    private readonly hub: AdapterPortHub,
    /** Emits `error` on the hub. */
    readonly reportError: (error: unknown) => void,
    /** Emits `warning` on the hub. */
    readonly warn: (warning: SignallingHubError) => void,
    /** Connections open from an address. */
    readonly connectionsFrom: (address: string) => number,
  ) {
    const backplane: Backplane | undefined = hub.options.backplane;
    this.nodeId = backplane?.nodeId;
    this.sendToNode =
      backplane?.sendToNode === undefined
        ? undefined
        : (nodeId, channel, payload, options) => backplane.sendToNode!(nodeId, channel, payload, options);
    // Adapters pass these around detached from the port.
    this.open = this.open.bind(this);
    this.handleNodeMessages = this.handleNodeMessages.bind(this);
  }

  get options(): ResolvedHubOptions {
    return this.hub.options;
  }

  get accepting(): boolean {
    return this.hub.accepting;
  }

  get closed(): boolean {
    return this.hub.closed;
  }

  open(transport: Transport, info?: ConnectionInfo): TransportSession {
    return this.hub.open(transport, info);
  }

  handleNodeMessages(channel: string, handler: NodeMessageHandler): () => void {
    this.handlers.set(channel, handler);
    return () => {
      if (this.handlers.get(channel) === handler) this.handlers.delete(channel);
    };
  }

  /** A request from another node goes to the handler of its channel (`undefined` when none). */
  dispatch(fromNode: string, channel: string, payload: string): Promise<string | undefined> | string | undefined {
    const handler = this.handlers.get(channel);
    return handler === undefined ? undefined : handler(fromNode, payload);
  }
}
