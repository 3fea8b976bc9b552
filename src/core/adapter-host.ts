import type { Backplane, NodeReply } from './backplane.js';
import type { SignallingHubError } from './errors.js';

/** Answers a request from another node on one channel (`undefined`: no answer to give). */
export type NodeMessageHandler = (fromNode: string, payload: string) => Promise<string | undefined> | string | undefined;

/**
 * What a transport adapter of this package may do with a hub beyond its
 * public API: report failures and warnings on the hub's events. Kept out of
 * the public surface (a host cannot reach it); the hub registers itself here
 * when it is built.
 */
export interface AdapterHost {
  /** Emits `error` on the hub. */
  reportError(error: unknown): void;
  /** Emits `warning` on the hub (a degraded mode worth one log line, not a failure). */
  warn(warning: SignallingHubError): void;
  /** The hub's node id in a cluster (its backplane's), `undefined` on a single node. */
  readonly nodeId: string | undefined;
  /** Sends a request to another node and waits for its answer; absent when the backplane cannot. */
  readonly sendToNode: NonNullable<Backplane['sendToNode']> | undefined;
  /**
   * Answers requests other nodes send on `channel` with `handler` (one per
   * channel: a later one replaces it). Returns the function that stops it.
   */
  handleNodeMessages(channel: string, handler: NodeMessageHandler): () => void;
}

/** What the hub gives when it registers: the rest is derived from its backplane. */
export type AdapterHostBase = Pick<AdapterHost, 'reportError' | 'warn'>;

interface Registered {
  readonly host: AdapterHost;
  readonly handlers: Map<string, NodeMessageHandler>;
}

const hosts = new WeakMap<object, Registered>();

/** @internal Called by the hub's constructor (after its options are resolved). */
export function registerAdapterHost(
  hub: { readonly options: { readonly backplane?: Backplane | undefined } },
  base: AdapterHostBase,
): void {
  const backplane = hub.options.backplane;
  const handlers = new Map<string, NodeMessageHandler>();
  const host: AdapterHost = {
    reportError: base.reportError,
    warn: base.warn,
    nodeId: backplane?.nodeId,
    sendToNode:
      backplane?.sendToNode === undefined
        ? undefined
        : (nodeId: string, channel: string, payload: string, options?: { readonly timeoutMs?: number }): Promise<NodeReply> =>
            backplane.sendToNode!(nodeId, channel, payload, options),
    handleNodeMessages(channel, handler) {
      handlers.set(channel, handler);
      return () => {
        if (handlers.get(channel) === handler) handlers.delete(channel);
      };
    },
  };
  hosts.set(hub, { host, handlers });
}

/**
 * @internal The hub's {@link BackplaneHost.nodeMessage}: a request from
 * another node goes to the handler of its channel (`undefined` when none).
 */
export function dispatchNodeMessage(
  hub: object,
  fromNode: string,
  channel: string,
  payload: string,
): Promise<string | undefined> | string | undefined {
  const handler = hosts.get(hub)?.handlers.get(channel);
  return handler === undefined ? undefined : handler(fromNode, payload);
}

/** The adapter host of `hub`, or `undefined` when `hub` is not a hub of this copy of the library. */
export function adapterHost(hub: object): AdapterHost | undefined {
  return hosts.get(hub)?.host;
}
