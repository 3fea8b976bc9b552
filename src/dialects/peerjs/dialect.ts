import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { type AdapterPort, decorateAdapterPort } from '../../core/adapter-port.js';
import { InvalidOptionError } from '../../core/errors.js';
import { describeValue } from '../../core/option-check.js';
import type { AuthenticateContext } from '../../core/options.js';
import type { ConnectionInfo, Transport, TransportSession } from '../../core/transport.js';
import type { DialectContext, DialectSession } from './context.js';
import { OfflineQueue, type QueuedMessage } from './offline-queue.js';
import { type PeerjsOptions, type ResolvedPeerjsOptions, resolvePeerjsOptions } from './options.js';
import { PeerjsSession } from './session.js';
import { expireFrame, namePrefix } from './wire.js';

/** What the dialect uses of a `SignallingHub`: its adapter port, `send` for relays across nodes, `disconnect` in a drain. */
export interface PeerjsHubLike {
  readonly adapterPort: AdapterPort;
  send(name: string, message: object): Promise<boolean>;
  disconnect(name: string, reason?: string): boolean;
  getPeer(name: string): object | undefined;
}

/** How long a node waits for the node holding an id to answer a take-over request. */
const TAKE_OVER_TIMEOUT_MS = 2000;

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * The PeerJS dialect of a hub: its {@link AdapterPort} (`adapterPort`) speaks PeerJS to
 * its connections and the hub's protocol to the hub. Serve it with
 * `attach(dialect, server, { path: dialect.wsPath, httpFallback: false })`
 * and answer its HTTP routes with {@link handlePeerjsRequest} (or use
 * {@link attachPeerjs}, which does both).
 */
export class PeerjsDialect {
  /** The options in force (frozen). */
  readonly options: ResolvedPeerjsOptions;
  /** The port to hand to `attach()`: connections opened through it speak PeerJS. */
  readonly adapterPort: AdapterPort;
  /** Where the WebSocket is served: `{path}peerjs`. */
  readonly wsPath: string;
  private readonly context: DialectContext;
  private readonly pending = new Map<string, (token: string | undefined) => void>();
  private readonly stopNodeMessages: () => void;
  private aliveTimer: ReturnType<typeof setInterval> | undefined;
  private ended = false;

  constructor(hub: PeerjsHubLike, options?: PeerjsOptions) {
    const port = hub?.adapterPort;
    if (
      typeof port?.open !== 'function' ||
      typeof hub.send !== 'function' ||
      typeof hub.disconnect !== 'function' ||
      typeof hub.getPeer !== 'function'
    ) {
      throw new InvalidOptionError('hub', 'a SignallingHub', describeValue(hub));
    }
    const resolved = (this.options = resolvePeerjsOptions(options));
    this.wsPath = `${resolved.path}peerjs`;
    // Node channels are printable ASCII without spaces.
    const channel = `signalling-hub/peerjs:${encodeURIComponent(resolved.path)}:${resolved.key}`;
    const clustered = port.nodeId !== undefined;
    const sessions = new Set<DialectSession>();
    const online = new Map<string, DialectSession>();
    const prefix = namePrefix(resolved.key);
    const queue = new OfflineQueue(resolved, {
      deliver: (dst, item) => {
        const target = online.get(dst);
        if (target !== undefined) {
          target.sendFrame(item.frame);
          return true;
        }
        return clustered ? hub.send(prefix + dst, item.message).catch(() => false) : false;
      },
      expire: (src, dst) => online.get(src)?.sendFrame(expireFrame(dst, src)),
      reportError: (error) => port.reportError(error),
    });
    const pending = this.pending;
    this.context = {
      options: resolved,
      prefix,
      quotedPrefix: `"${prefix}`,
      port,
      clustered,
      loginMark: randomUUID(),
      sessions,
      online,
      queue,
      relayAway: (from: DialectSession, dst: string, item: QueuedMessage) => {
        if (queue.has(dst) || !clustered) {
          if (!queue.push(dst, item)) from.sendFrame(expireFrame(dst, from.id));
          return;
        }
        // Maybe on another node; queued when not (found there later by the queue's passes).
        hub.send(prefix + dst, item.message).then(
          (delivered) => {
            if (!delivered && !queue.push(dst, item)) from.sendFrame(expireFrame(dst, from.id));
          },
          () => from.sendFrame(expireFrame(dst, from.id)),
        );
      },
      release: (name: string) => {
        // Only a name still reserved (no new login took it since: new connections are refused while draining).
        if (hub.getPeer(name) === undefined) hub.disconnect(name, 'drained');
      },
      askTakeOver: (session: DialectSession) => {
        const sendToNode = port.sendToNode;
        if (sendToNode === undefined || port.nodeId === undefined) return Promise.resolve(undefined);
        const nonce = randomUUID();
        return new Promise<string | undefined>((resolve) => {
          const timer = setTimeout(() => settle(undefined), TAKE_OVER_TIMEOUT_MS);
          const settle = (token: string | undefined) => {
            clearTimeout(timer);
            pending.delete(nonce);
            resolve(token);
          };
          pending.set(nonce, settle);
          const request = {
            type: 'peerjs:take-over',
            nonce,
            node: port.nodeId,
            hash: tokenHash(session.peerjsToken).toString('base64'),
          };
          hub.send(session.name, request).then(
            (delivered) => {
              if (!delivered) settle(undefined);
            },
            () => settle(undefined),
          );
        });
      },
      takeOverAsked: (session: DialectSession, request: Record<string, unknown>) => {
        const { nonce, node, hash } = request;
        if (typeof nonce !== 'string' || typeof node !== 'string' || typeof hash !== 'string') return;
        if (session.hubToken === undefined || port.sendToNode === undefined) return;
        const given = Buffer.from(hash, 'base64');
        const own = tokenHash(session.peerjsToken);
        const same = given.length === own.length && timingSafeEqual(given, own);
        // Another token: answered at once (`null`), so the asking node says ID-TAKEN without waiting.
        port
          .sendToNode(node, channel, JSON.stringify({ nonce, token: same ? session.hubToken : null }))
          .catch((error: unknown) => port.reportError(error));
      },
    };
    this.stopNodeMessages = port.handleNodeMessages(channel, (_fromNode, payload) => {
      try {
        const { nonce, token } = JSON.parse(payload) as { nonce?: unknown; token?: unknown };
        if (typeof nonce === 'string' && (typeof token === 'string' || token === null)) pending.get(nonce)?.(token ?? undefined);
      } catch {
        // Not ours to answer.
      }
      return undefined;
    });
    const context = this.context;
    const open = (transport: Transport, info?: ConnectionInfo): TransportSession => {
      const session = new PeerjsSession(context, transport);
      session.start(info ?? {});
      return session;
    };
    this.adapterPort = decorateAdapterPort(port, open);
    const aliveTimeout = resolved.alive_timeout;
    if (aliveTimeout > 0) {
      this.aliveTimer = setInterval(
        () => {
          const cutoff = Date.now() - aliveTimeout;
          for (const session of sessions) if (session.lastSeen < cutoff) session.close(1000, 'no heartbeat');
        },
        Math.min(5000, Math.max(50, Math.floor(aliveTimeout / 4))),
      );
      this.aliveTimer.unref?.();
    }
  }

  /** PeerJS connections on this node (the `concurrent_limit` counts them). */
  get connections(): number {
    return this.context.sessions.size;
  }

  /** The ids connected on this node. */
  ids(): string[] {
    return [...this.context.online.keys()];
  }

  /** Whether `id` is connected on this node. */
  isOnline(id: string): boolean {
    return this.context.online.has(id);
  }

  /** Bytes of messages queued for ids that are not connected, on this node. */
  get queuedBytes(): number {
    return this.context.queue.queuedBytes;
  }

  /** The hub name of a PeerJS id: `peerjs:<key>:<id>`. */
  nameOf(id: string): string {
    return this.context.prefix + id;
  }

  /**
   * Whether a login seen by the hub's `authenticate` hook was made by this
   * dialect. A host serving classic clients too can refuse their logins of
   * `peerjs:` names with it, so no classic client takes a PeerJS id.
   */
  ownsLogin(context: Pick<AuthenticateContext, 'message'>): boolean {
    return context.message.peerjs === this.context.loginMark;
  }

  /** Stops the timers and drops queued messages (the connections are closed by their `attach()`). */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.aliveTimer !== undefined) clearInterval(this.aliveTimer);
    this.context.queue.clear();
    this.stopNodeMessages();
    for (const settle of this.pending.values()) settle(undefined);
  }
}

/** Builds the PeerJS dialect of `hub` (see {@link PeerjsDialect}). */
export function peerjsPort(hub: PeerjsHubLike, options?: PeerjsOptions): PeerjsDialect {
  return new PeerjsDialect(hub, options);
}
