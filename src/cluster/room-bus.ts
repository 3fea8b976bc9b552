import type { RoomJoinResult } from '../core/backplane.js';

/*
 * Rooms on a cluster's medium: each room's members (name and node, in join
 * order) and, for the fan-out, which nodes hold members. Every operation is
 * atomic on the medium (a Lua script on Redis, one synchronous step in
 * memory). Members of a node whose lease is gone are purged by the next
 * operation on their room, so a node that died leaves no member behind for
 * long, whoever noticed.
 */
export interface RoomBus {
  /**
   * Adds `name` of this node to `room` unless it has `maxMembers` members
   * and, if it was not there, publishes `text` to the other live nodes
   * holding members (as {@link publish}); `members` lists everyone, in join order.
   */
  join(room: string, name: string, maxMembers: number, text: string): Promise<RoomJoinResult>;
  /** Removes `name` of this node from `room` and, if it was there, publishes `text` to the other nodes holding members. */
  part(room: string, name: string, text: string): Promise<void>;
  /**
   * Publishes `text` on the channel of every other live node holding members
   * of `room`, once per node, after what this node forwarded before.
   */
  publish(room: string, text: string): Promise<void>;
  /** The members of `room` on live nodes, in join order. */
  members(room: string): Promise<ReadonlyArray<readonly [name: string, node: string]>>;
  /** The rooms with members. */
  list(): Promise<readonly string[]>;
  /** Moves the memberships of `name` from node `fromNode` to this node (a resume); returns its rooms and their members. */
  move(name: string, fromNode: string): Promise<Array<readonly [string, ReadonlyArray<readonly [string, string]>]>>;
  /** The live node holding the name `name`, if any. */
  holder(name: string): Promise<string | undefined>;
  /** Sends what a batching bus queued now (before the node leaves). */
  flush?(): void;
  /** Removes every membership of node `nodeId` (this node as it leaves, or a dead one). */
  leaveNode(nodeId: string): Promise<void>;
}

/**
 * A room message on a node's channel: `[fromNode]` then a newline and the
 * message as it is (no second JSON round: it may carry a frame for many
 * members). Envelope messages start with a digit or a kind and control
 * messages with `{`, so a `[` tells it apart.
 */
export function encodeRoomFrame(fromNode: string, message: string): string {
  return '[' + JSON.stringify(fromNode) + ']\n' + message;
}

export function isRoomFrame(text: string): boolean {
  return text.charCodeAt(0) === 0x5b;
}

export function decodeRoomFrame(text: string): readonly [fromNode: string, message: string] | undefined {
  const end = text.indexOf('\n');
  if (end < 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 1 || typeof value[0] !== 'string') return undefined;
  return [value[0], text.slice(end + 1)];
}
