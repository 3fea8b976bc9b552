import type { RelayType } from '../protocol/messages.js';

/**
 * One message crossing from this node to the node that holds `to`. `frame`
 * is the exact text the target receives, so the far node forwards it without
 * re-encoding.
 */
export interface Envelope {
  /**
   * A protocol relay, `message` for a host's `hub.send()` (or an error the
   * hub sends a sender on another node), or `moved`: the peer `from` now
   * lives on `fromNode` (after a resume there); nothing reaches the client.
   */
  kind: RelayType | 'message' | 'moved';
  /** The sender's name (`''` for a host message). */
  from: string;
  /** The sender's node. */
  fromNode: string;
  /** The target's name. */
  to: string;
  /** The text frame the target receives. */
  frame: string;
  /**
   * The same frame as UTF-8 bytes, when the backplane read it from bytes (the
   * Redis backplane's batches): the hub writes them to the target as they are,
   * and `frame` may then be an accessor that makes the text on first read.
   * Valid while the envelope is being delivered; a custom backplane leaves it unset.
   */
  bytes?: Uint8Array;
}

/** Told the outcome of a relay forwarded with {@link Backplane.forwardRelay}. */
export type ForwardDone = (result: ForwardResult) => void;

/** A peer as another node describes it in a resume grant (no `data`: it stays on its node). */
export interface RemotePeer {
  readonly id: number;
  readonly name: string;
  readonly remoteAddress: string | undefined;
  readonly node: string | undefined;
  readonly joinedAt: number;
}

/** What the node that held a resumable peer hands to the node where it resumes. */
export interface ResumeGrant {
  /** The peer as it was. */
  readonly previous: RemotePeer;
  /** Relays held for the peer, oldest first (`to` is the peer). */
  readonly parked: readonly Envelope[];
  /** The peer's call partners and the node each is on. */
  readonly partners: ReadonlyArray<readonly [name: string, node: string]>;
}

/**
 * Outcome of a resume through the backplane: `not-held` when no live node
 * holds the name (log in afresh), `refused` when its holder refused the token.
 */
export type ResumeResult =
  | { readonly resumed: true; readonly grant: ResumeGrant }
  | { readonly resumed: false; readonly reason: 'not-held' | 'refused' | 'unavailable' };

/** Outcome of claiming a name cluster-wide. */
export type ClaimResult = 'claimed' | 'taken' | 'unavailable';

/** Outcome of forwarding an envelope. */
export type ForwardResult =
  | { delivered: true; /** The node that holds the target. */ node: string }
  | { delivered: false; reason: 'not-found' | 'unavailable' };

/**
 * Outcome of a request to another node ({@link Backplane.sendToNode}):
 * `delivered` with the far node's answer (`undefined` when nothing there
 * handles the channel), or why it did not come: `not-found` (no such node
 * listens), `unavailable` (the backplane is down), `timeout` (no answer in time).
 */
export type NodeReply =
  | { readonly delivered: true; readonly reply: string | undefined }
  | { readonly delivered: false; readonly reason: 'not-found' | 'unavailable' | 'timeout' };

/**
 * Outcome of joining a room cluster-wide: the other members with their
 * nodes, in the order they joined, or why not.
 */
export type RoomJoinResult =
  | { readonly joined: true; readonly members: ReadonlyArray<readonly [name: string, node: string]> }
  | { readonly joined: false; readonly reason: 'room-full' | 'unavailable' };

/** One page of {@link Backplane.namePage}. */
export interface NamePage {
  /** Names after the cursor, in code-unit order, at most the limit asked for. */
  readonly names: readonly string[];
  /** Whether more names follow the last one (ask again with it as the cursor). */
  readonly more: boolean;
}

/** Where a backplane is in its life. */
export type BackplaneState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** A backplane's health, for `hub.stats()`, `/readyz` and metrics. */
export interface BackplaneStatus {
  readonly state: BackplaneState;
  /** Round trip of the last successful heartbeat, in milliseconds. */
  readonly roundTripMs: number | undefined;
}

/**
 * What a host holds at most for one dropped peer (the hub's
 * `resumeMaxMessages`, `resumeMaxBytes`, `maxNameLength` and
 * `maxCallsPerPeer`): a backplane sizes what one hand-over may carry from it.
 */
export interface ResumeBounds {
  /** Relays held (`resumeMaxMessages`); a `leave` per call partner is held besides. */
  readonly maxMessages: number;
  /** Their frames' length in all, in UTF-16 units or bytes (`resumeMaxBytes`). */
  readonly maxBytes: number;
  /** Longest name (`maxNameLength`). */
  readonly maxNameLength: number;
  /** Call partners per peer (`maxCallsPerPeer`). */
  readonly maxCalls: number;
}

/** What the hub offers its backplane. */
export interface BackplaneHost {
  /**
   * What is held at most for one dropped peer. Optional so that hosts written
   * before it still compile (a backplane then uses its own limit for a hand-over).
   */
  readonly resumeBounds?: ResumeBounds;
  /** An envelope from another node for a peer on this one. Returns false if the peer is not here. */
  deliver(envelope: Envelope): boolean;
  /** Names held on this node with their claim ids, for re-asserting them after the bus lost its state. */
  localClaims(): Iterable<readonly [name: string, claimId: string]>;
  /**
   * The cluster holds `name` for another node although this node's claim
   * `claimId` still serves it (the two were split by an outage): the local
   * connection holding that claim is closed with 4410 so one holder remains.
   * Ignored when the claim id is no longer the local holder's.
   */
  claimLost(name: string, claimId: string): void;
  /** Node `nodeId` is gone: its peers' call partners here are told `leave`. */
  nodeDown(nodeId: string): void;
  /** Ids of the other nodes that local peers are in calls with: the nodes whose death matters here. */
  remoteNodes(): Iterable<string>;
  /** A backplane failure the host may want to log. */
  error(error: Error): void;
  /** The backplane's state changed (the hub emits `backplane-state`). */
  stateChanged(state: BackplaneState): void;
  /**
   * Another node asks to resume `name` with `token`. When the local holder is
   * resumable and the token matches, it is set aside (relays to it now go
   * through the backplane) and its claim id and grant are returned; the
   * backplane must then move the claim and call {@link handOverSettled}.
   */
  handOverRequested(name: string, token: string): { readonly claimId: string; readonly grant: ResumeGrant } | undefined;
  /** The claim of `name` moved to the resuming node (`true`; the local holder goes, no `leave`) or did not (`false`; it stays). */
  handOverSettled(name: string, committed: boolean): void;
  /**
   * A resume granted to this node came too late: the login it was for had
   * been answered `backplane-unavailable`, so the peer ends as if its grace
   * had run out. Its call partners (`grant.partners`) hear `leave`, and the
   * senders of its held relays (`grant.parked`) `peer-gone`; the backplane
   * gives the name back itself. Optional so that hosts written before it
   * still compile (without it, only the name is given back).
   */
  grantAbandoned?(name: string, grant: ResumeGrant): void;
  /**
   * A request from node `fromNode` on `channel` (see {@link Backplane.sendToNode}):
   * the answer goes back to it (`undefined`: nothing here handles the channel).
   * Optional so that hosts written before it still compile.
   */
  nodeMessage?(fromNode: string, channel: string, payload: string): Promise<string | undefined> | string | undefined;
  /**
   * A room message from node `fromNode` (see {@link Backplane.publishToRoom}),
   * for the members of its room on this node. Optional like the room methods.
   */
  roomMessage?(fromNode: string, message: string): void;
}

/**
 * The seam between one hub and its cluster: the hub claims names and forwards
 * messages for names it does not hold through it. A name not held locally is
 * looked up here; the local map stays the fast path.
 */
export interface Backplane {
  /** This node's id, unique in the cluster. */
  readonly nodeId: string;
  /** Connects; called once by the hub's constructor. */
  start(host: BackplaneHost): Promise<void>;
  /**
   * Claims `name` for this node under `claimId` (unique per login); exactly
   * one of racing claims on any nodes wins. A later claim of the same name on
   * this node replaces the earlier one's id.
   */
  claim(name: string, claimId: string): Promise<ClaimResult>;
  /**
   * Gives `name` back if it is still held under `claimId`: a late release of
   * an earlier login never frees the claim of a later one (fencing).
   */
  release(name: string, claimId: string): void;
  /** Sends an envelope to the node that holds `envelope.to`, in order per sender. */
  forward(envelope: Envelope): Promise<ForwardResult>;
  /**
   * Optional: {@link forward} for the hub's relay hot path, in the same order
   * as `forward` calls: an envelope of `kind` from this node's peer `from`
   * to `to`, its frame as text or as UTF-8 bytes that are valid only during
   * the call (copy them to keep them), and `done` told the outcome once (never
   * within the call) instead of a promise made per relay. Without it the hub
   * calls `forward`.
   */
  forwardRelay?(kind: RelayType, from: string, to: string, frame: string | Uint8Array, done: ForwardDone): void;
  /** Releases this node's names and disconnects. */
  close(): Promise<void>;
  /** Current health; optional for custom backplanes (then reported as `connected` once started). */
  status?(): BackplaneStatus;
  /**
   * Resumes `name`, held by a resumable peer on another node, for a login on
   * this one with `token`: the holder's node checks the token, and the claim
   * moves here under `claimId` atomically with the grant's delivery, so relays
   * that reach the name after the move come after the held ones. Optional:
   * without it, a resume works on the node that holds the name only.
   */
  resume?(name: string, token: string, claimId: string): Promise<ResumeResult>;
  /**
   * Sends `payload` on `channel` to node `nodeId` and waits (up to
   * `timeoutMs`) for its host's answer ({@link BackplaneHost.nodeMessage}):
   * what transports use to reach a session held on another node (the HTTP
   * fallback forwards requests with it). Optional: without it, such requests
   * are answered as for an unknown session.
   */
  sendToNode?(nodeId: string, channel: string, payload: string, options?: { readonly timeoutMs?: number }): Promise<NodeReply>;
  /**
   * One page of the names held by live nodes other than this one (the hub
   * adds its own peers): those after `after` in code-unit order, at most
   * `limit` (1 to 10,000). Rejects when the cluster cannot be
   * reached. Optional: without it, the `peers` listing and PeerJS discovery
   * show this node's names only.
   */
  namePage?(after: string, limit: number): Promise<NamePage>;
  /*
   * Rooms (optional, all five or none): the cluster holds each room's members
   * (name and node, in join order); a room message reaches each node holding
   * members once. Without them, rooms are per node.
   */
  /**
   * Adds `name` of this node to `room` unless it has `maxMembers` members,
   * and sends `announce` (as {@link publishToRoom}) to the other nodes
   * holding members, in one atomic step: a node hears of a join only if it
   * held members before it.
   */
  joinRoom?(room: string, name: string, maxMembers: number, announce: string): Promise<RoomJoinResult>;
  /** Removes `name` of this node from `room` and sends `announce` to the other nodes holding members, atomically. */
  partRoom?(room: string, name: string, announce: string): Promise<void>;
  /**
   * Sends `message` to every other node holding members of `room`, once per
   * node, in order with this node's forwards ({@link BackplaneHost.roomMessage} there).
   */
  publishToRoom?(room: string, message: string): Promise<void>;
  /** The members of `room` on every node, in join order. */
  roomMembers?(room: string): Promise<ReadonlyArray<readonly [name: string, node: string]>>;
  /** The rooms with members on any node. */
  roomList?(): Promise<readonly string[]>;
  /** The live node holding `name`, if any (for the host's `hub.join()`/`hub.part()` of a peer on another node). */
  locate?(name: string): Promise<string | undefined>;
  /**
   * `name` resumed here from node `fromNode`: its memberships move to this
   * node, keeping their place in join order. Returns each room it is in with
   * its members.
   */
  moveRooms?(
    name: string,
    fromNode: string,
  ): Promise<ReadonlyArray<readonly [room: string, members: ReadonlyArray<readonly [name: string, node: string]>]>>;
}
