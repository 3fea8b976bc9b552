import type { AdapterPort } from '../../core/adapter-port.js';
import type { OfflineQueue, QueuedMessage } from './offline-queue.js';
import type { ResolvedPeerjsOptions } from './options.js';

/** What the dialect reads and calls of one of its sessions (`DialectSession`). */
export interface DialectSession {
  /** The PeerJS id. */
  readonly id: string;
  /** Its hub name (`peerjs:<key>:<id>`). */
  readonly name: string;
  /** The client's token. */
  readonly peerjsToken: string;
  /** The hub's resume token of its login, once it has one. */
  readonly hubToken: string | undefined;
  /** When a frame last came (ms). */
  readonly lastSeen: number;
  /** Sends a PeerJS frame to the client. */
  sendFrame(frame: string): void;
  close(code: number, reason: string): void;
}

/** What a session needs from its dialect (one object per dialect, shared by its sessions). */
export interface DialectContext {
  readonly options: ResolvedPeerjsOptions;
  /** `peerjs:<key>:`, the start of every hub name of this dialect. */
  readonly prefix: string;
  /** `"peerjs:<key>:`: how the prefix starts a name's JSON (it needs no escaping). */
  readonly quotedPrefix: string;
  /** The hub's own port. */
  readonly port: AdapterPort;
  /** Whether the hub has a backplane (ids may be online on other nodes). */
  readonly clustered: boolean;
  /** Marks the logins this dialect makes (`message.peerjs`), for a host's `authenticate`. */
  readonly loginMark: string;
  /** Every open session (the `concurrent_limit` counts them). */
  readonly sessions: Set<DialectSession>;
  /** Sessions that got `OPEN`, by id. */
  readonly online: Map<string, DialectSession>;
  readonly queue: OfflineQueue;
  /** A relay to an id not online on this node: sent through the cluster, or queued. */
  relayAway(from: DialectSession, dst: string, item: QueuedMessage): void;
  /** Ends the hub's hold on a name this dialect's session had (a drain's reservation). */
  release(name: string): void;
  /** Asks the node holding `session`'s id for its hub token, if the PeerJS token matches. */
  askTakeOver(session: DialectSession): Promise<string | undefined>;
  /** Another node asks for this session's hub token (a `peerjs:take-over` message). */
  takeOverAsked(session: DialectSession, request: Record<string, unknown>): void;
}
