import { randomUUID } from 'node:crypto';
import { type AdapterPort, decorateAdapterPort } from '../../core/adapter-port.js';
import { InvalidOptionError } from '../../core/errors.js';
import { describeValue } from '../../core/option-check.js';
import type { AuthenticateContext } from '../../core/options.js';
import type { ConnectionInfo, Transport, TransportSession } from '../../core/transport.js';
import type { YWebrtcContext } from './context.js';
import { type ResolvedYWebrtcOptions, resolveYWebrtcOptions, type YWebrtcOptions } from './options.js';
import { YWebrtcSession } from './session.js';
import { roomOfTopic, topicOfRoom } from './topics.js';

/**
 * What the dialect uses of a `SignallingHub`: its adapter port; with
 * `publishWithoutSubscribe`, also `members` and `broadcast`.
 */
export interface YWebrtcHubLike {
  readonly adapterPort: AdapterPort;
  members?(room: string): Promise<string[]>;
  broadcast?(room: string, data: unknown): Promise<void>;
}

/**
 * The y-webrtc dialect of a hub: its {@link AdapterPort} (`adapterPort`)
 * speaks y-webrtc's signalling wire to its connections and the hub's
 * protocol (a login, rooms) to the hub. Serve it with
 * `attach(dialect, server, { path: dialect.options.path })`, or use
 * {@link attachYWebrtc}.
 */
export class YWebrtcDialect {
  /** The options in force (frozen). */
  readonly options: ResolvedYWebrtcOptions;
  /** The port to hand to `attach()`: connections opened through it speak y-webrtc. */
  readonly adapterPort: AdapterPort;
  private readonly context: YWebrtcContext;

  constructor(hub: YWebrtcHubLike, options?: YWebrtcOptions) {
    const port = hub?.adapterPort;
    if (typeof port?.open !== 'function') throw new InvalidOptionError('hub', 'a SignallingHub', describeValue(hub));
    const resolved = (this.options = resolveYWebrtcOptions(options));
    if (resolved.publishWithoutSubscribe && (typeof hub.members !== 'function' || typeof hub.broadcast !== 'function')) {
      throw new InvalidOptionError('hub', 'a SignallingHub with rooms (members, broadcast)', describeValue(hub));
    }
    const prefix = resolved.roomPrefix;
    this.context = {
      options: resolved,
      port,
      loginMark: randomUUID(),
      sessions: new Set(),
      topicOf: (room) => topicOfRoom(room, prefix),
      publishAway: (room, message) => {
        // Not a member: the count and the fan-out come from the cluster, in order per sender (one at a time).
        hub.members!(room)
          .then(
            (members) => {
              message.clients = members.length;
              return members.length === 0 ? undefined : hub.broadcast!(room, message);
            },
            (error: unknown) => port.reportError(error),
          )
          .catch((error: unknown) => port.reportError(error));
      },
    };
    const context = this.context;
    const open = (transport: Transport, info?: ConnectionInfo): TransportSession => {
      const session = new YWebrtcSession(context, transport);
      session.start(info ?? {});
      return session;
    };
    this.adapterPort = decorateAdapterPort(port, open);
  }

  /** y-webrtc connections on this node. */
  get connections(): number {
    return this.context.sessions.size;
  }

  /** The hub room of a topic (see {@link roomOfTopic}), with this dialect's prefix. */
  roomOf(topic: string): string {
    return roomOfTopic(topic, this.options.roomPrefix);
  }

  /** The topic of a hub room, `undefined` when the room is not one of this dialect's (see {@link topicOfRoom}). */
  topicOf(room: string): string | undefined {
    return topicOfRoom(room, this.options.roomPrefix);
  }

  /**
   * Whether a login seen by the hub's `authenticate` hook was made by this
   * dialect (its connections log in with a name of the form
   * `y-webrtc:<random>`). A host serving classic clients too can refuse
   * their logins of such names with it.
   */
  ownsLogin(context: Pick<AuthenticateContext, 'message'>): boolean {
    return context.message.yWebrtc === this.context.loginMark;
  }
}

/** Builds the y-webrtc dialect of `hub` (see {@link YWebrtcDialect}). */
export function yWebrtcPort(hub: YWebrtcHubLike, options?: YWebrtcOptions): YWebrtcDialect {
  return new YWebrtcDialect(hub, options);
}
