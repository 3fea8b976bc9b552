import type { RoomJoinResult } from '../../core/backplane.js';
import type { RoomBus } from '../room-bus.js';
import type { MemoryMedium } from './memory-bus.js';

/** Room → member name → its node, in join order; one table per in-memory cluster. */
type RoomTables = Map<string, Map<string, string>>;
const tables = new WeakMap<MemoryMedium, RoomTables>();

/**
 * One node's rooms in an in-memory cluster: like the Redis scripts, each
 * operation is one synchronous step on the cluster's shared table, and a
 * publish goes out at once, after this node's earlier forwards.
 */
export class MemoryRooms implements RoomBus {
  private readonly rooms: RoomTables;

  constructor(
    private readonly medium: MemoryMedium,
    private readonly nodeId: string,
  ) {
    let rooms = tables.get(medium);
    if (rooms === undefined) tables.set(medium, (rooms = new Map<string, Map<string, string>>()));
    this.rooms = rooms;
  }

  join(room: string, name: string, maxMembers: number, text: string): Promise<RoomJoinResult> {
    const members = this.live(room);
    if (members?.get(name) !== this.nodeId) {
      if ((members?.size ?? 0) >= maxMembers) return Promise.resolve({ joined: false, reason: 'room-full' });
      this.publishNow(room, text);
      let table = members;
      if (table === undefined) this.rooms.set(room, (table = new Map<string, string>()));
      // Under this node now (a stale entry of another node goes to the end).
      table.delete(name);
      table.set(name, this.nodeId);
    }
    return Promise.resolve({ joined: true, members: [...this.rooms.get(room)!] });
  }

  part(room: string, name: string, text: string): Promise<void> {
    const members = this.rooms.get(room);
    if (members?.get(name) === this.nodeId) {
      members.delete(name);
      if (members.size === 0) this.rooms.delete(room);
      else this.publishNow(room, text);
    }
    return Promise.resolve();
  }

  publish(room: string, text: string): Promise<void> {
    this.publishNow(room, text);
    return Promise.resolve();
  }

  private publishNow(room: string, text: string): void {
    const nodes = new Set(this.live(room)?.values());
    nodes.delete(this.nodeId);
    for (const node of nodes) this.medium.publish(node, text);
  }

  members(room: string): Promise<ReadonlyArray<readonly [string, string]>> {
    return Promise.resolve([...(this.live(room) ?? [])]);
  }

  list(): Promise<readonly string[]> {
    return Promise.resolve([...this.rooms.keys()].filter((room) => this.live(room) !== undefined));
  }

  move(name: string, fromNode: string): Promise<Array<readonly [string, ReadonlyArray<readonly [string, string]>]>> {
    const moved: Array<readonly [string, ReadonlyArray<readonly [string, string]>]> = [];
    for (const [room, members] of this.rooms) {
      if (members.get(name) !== fromNode) continue;
      // In place: the member keeps its place in join order.
      members.set(name, this.nodeId);
      moved.push([room, [...members]]);
    }
    return Promise.resolve(moved);
  }

  holder(name: string): Promise<string | undefined> {
    const owner = this.medium.names.get(name);
    return Promise.resolve(owner !== undefined && this.medium.alive(owner.node) ? owner.node : undefined);
  }

  leaveNode(nodeId: string): Promise<void> {
    for (const room of [...this.rooms.keys()]) this.purge(room, (node) => node === nodeId);
    return Promise.resolve();
  }

  /** The members of `room`, those of dead nodes purged. */
  private live(room: string): Map<string, string> | undefined {
    this.purge(room, (node) => !this.medium.alive(node));
    return this.rooms.get(room);
  }

  private purge(room: string, gone: (node: string) => boolean): void {
    const members = this.rooms.get(room);
    if (members === undefined) return;
    for (const [name, node] of members) if (gone(node)) members.delete(name);
    if (members.size === 0) this.rooms.delete(room);
  }
}
