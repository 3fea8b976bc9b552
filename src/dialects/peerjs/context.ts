import type { AdapterPort } from '../../core/adapter-port.js';
import type { OfflineQueue, QueuedMessage } from './offline-queue.js';
import type { ResolvedPeerjsOptions } from './options.js';
import type { PeerjsSession } from './session.js';

/** What a {@link PeerjsSession} needs from its dialect (one object per dialect, shared by its sessions). */
export interface DialectContext {
  readonly options: ResolvedPeerjsOptions;
  /** `peerjs:<key>:`, the start of every hub name of this dialect. */
  readonly prefix: string;
  /** The hub's own port. */
  readonly port: AdapterPort;
  /** Whether the hub has a backplane (ids may be online on other nodes). */
  readonly clustered: boolean;
  /** Marks the logins this dialect makes (`message.peerjs`), for a host's `authenticate`. */
  readonly loginMark: string;
  /** Every open session (the `concurrent_limit` counts them). */
  readonly sessions: Set<PeerjsSession>;
  /** Sessions that got `OPEN`, by id. */
  readonly online: Map<string, PeerjsSession>;
  readonly queue: OfflineQueue;
  /** A relay to an id not online on this node: sent through the cluster, or queued. */
  relayAway(from: PeerjsSession, dst: string, item: QueuedMessage): void;
  /** Asks the node holding `session`'s id for its hub token, if the PeerJS token matches. */
  askTakeOver(session: PeerjsSession): Promise<string | undefined>;
  /** Another node asks for this session's hub token (a `peerjs:take-over` message). */
  takeOverAsked(session: PeerjsSession, request: Record<string, unknown>): void;
}
