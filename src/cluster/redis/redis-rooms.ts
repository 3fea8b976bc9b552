import type { RoomJoinResult } from '../../core/backplane.js';
import type { RoomBus } from '../room-bus.js';
import type { ScriptRunner } from './client.js';
import type { ForwardBatcher } from './forward-batcher.js';
import type { Keys } from './keys.js';
import { NAME_HOLDER, ROOM_JOIN, ROOM_LEAVE_NODE, ROOM_MEMBERS, ROOM_MOVE, ROOM_PART, ROOM_PUBLISH } from './room-scripts.js';

const FULL: RoomJoinResult = { joined: false, reason: 'room-full' };

/** `<node id> <name>` → [name, node] (node ids hold no whitespace). */
function member(entry: string): readonly [string, string] {
  const at = entry.indexOf(' ');
  return [entry.slice(at + 1), entry.slice(0, at)];
}

/**
 * Rooms on Redis (keys in room-scripts.ts). Scripts go through the backplane's
 * one command connection; a publish first sends the forwards queued in this
 * turn, so that a member hears one sender's relays and room messages in the
 * order they were sent.
 */
export class RedisRooms implements RoomBus {
  /** Room and text of each message queued in this turn. */
  private queue: string[] = [];
  private waiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private timer: ReturnType<typeof setImmediate> | undefined;

  constructor(
    private readonly runner: ScriptRunner,
    private readonly batcher: ForwardBatcher,
    private readonly keys: Keys,
    private readonly nodeId: string,
  ) {}

  async join(room: string, name: string, maxMembers: number, text: string): Promise<RoomJoinResult> {
    this.sendQueued();
    const reply = await this.runner.run(ROOM_JOIN, [], [this.keys.prefix, this.nodeId, room, name, String(maxMembers), text]);
    if (reply === 0) return FULL;
    return { joined: true, members: (reply as string[]).map(member) };
  }

  async part(room: string, name: string, text: string): Promise<void> {
    this.sendQueued();
    await this.runner.run(ROOM_PART, [], [this.keys.prefix, this.nodeId, room, name, text]);
  }

  /** What this node queued before a join or a part goes first: its announcement keeps its place. */
  private sendQueued(): void {
    this.batcher.flush();
    this.flush();
  }

  /**
   * Queued for the end of this event-loop turn and sent in one call with the
   * others of the turn (as forwards are batched); the forwards queued before
   * it go first, and a forward queued after it sends it first (see
   * {@link flush}), so one connection carries both in the order they were made.
   */
  publish(room: string, text: string): Promise<void> {
    this.batcher.flush();
    return new Promise((resolve, reject) => {
      this.queue.push(room, text);
      this.waiting.push({ resolve, reject });
      this.timer ??= setImmediate(() => this.flush());
    });
  }

  /** Sends the room messages queued in this turn (before a forward queued after them). */
  flush(): void {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    if (this.waiting.length === 0) return;
    const args = [this.keys.prefix, this.nodeId, ...this.queue];
    const waiting = this.waiting;
    this.queue = [];
    this.waiting = [];
    // A forward as far as Redis's caps go, but after what went by link before it (ForwardBatcher.viaRedis).
    this.batcher
      .viaRedis(() => this.runner.run(ROOM_PUBLISH, [], args, 'forward'))
      .then(
        () => {
          for (const pending of waiting) pending.resolve();
        },
        (error: unknown) => {
          for (const pending of waiting) pending.reject(error);
        },
      );
  }

  async members(room: string): Promise<ReadonlyArray<readonly [string, string]>> {
    return ((await this.runner.run(ROOM_MEMBERS, [], [this.keys.prefix, this.nodeId, room])) as string[]).map(member);
  }

  async list(): Promise<readonly string[]> {
    return (await this.runner.command(['SMEMBERS', `${this.keys.prefix}rooms`])) as string[];
  }

  async move(name: string, fromNode: string): Promise<Array<readonly [string, ReadonlyArray<readonly [string, string]>]>> {
    const reply = (await this.runner.run(ROOM_MOVE, [], [this.keys.prefix, fromNode, this.nodeId, name])) as Array<
      [string, string[]]
    >;
    return reply.map(([room, entries]) => [room, entries.map(member)] as const);
  }

  async holder(name: string): Promise<string | undefined> {
    const reply = await this.runner.run(NAME_HOLDER, [], [this.keys.prefix, name]);
    return typeof reply === 'string' ? reply : undefined;
  }

  async leaveNode(nodeId: string): Promise<void> {
    await this.runner.run(ROOM_LEAVE_NODE, [], [this.keys.prefix, nodeId]);
  }
}
