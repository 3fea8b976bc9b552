import type { AdapterPort } from '../../core/adapter-port.js';
import type { ResolvedYWebrtcOptions } from './options.js';

/** What a session needs from its dialect (one object per dialect, shared by its sessions). */
export interface YWebrtcContext {
  readonly options: ResolvedYWebrtcOptions;
  /** The hub's own port. */
  readonly port: AdapterPort;
  /** Marks the logins this dialect makes (`message.yWebrtc`), for a host's `authenticate`. */
  readonly loginMark: string;
  /** Open sessions on this node. */
  readonly sessions: Set<object>;
  /**
   * A publish to a topic the sender has not subscribed to (`publishWithoutSubscribe`):
   * `message` gets `clients` and reaches the room's members on every node.
   */
  publishAway(room: string, message: Record<string, unknown>): void;
  /** The topic of a room of this dialect's prefix, else `undefined`. */
  topicOf(room: string): string | undefined;
}
