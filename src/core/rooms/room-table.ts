/**
 * Who is in which room, as this node knows it: every room with a member on
 * this node, and its members (local ones, and, in a cluster, those of other
 * nodes that this node heard of) in the order they joined. Keyed by name, so
 * a resume (a new connection under the same name) keeps its rooms without a
 * word. A peer in no room costs nothing here.
 */
export class RoomTable {
  /** Room → member name → its node (`null`: this node), in join order. */
  private readonly rooms = new Map<string, Map<string, string | null>>();
  /** Local member name → the rooms it is in. */
  private readonly byName = new Map<string, Set<string>>();

  /** The members of `room` this node knows, in join order. */
  members(room: string): ReadonlyMap<string, string | null> | undefined {
    return this.rooms.get(room);
  }

  /** The rooms the local peer `name` is in. */
  roomsOf(name: string): ReadonlySet<string> | undefined {
    return this.byName.get(name);
  }

  /** Whether the local peer `name` is in `room`. */
  has(room: string, name: string): boolean {
    return this.byName.get(name)?.has(room) === true;
  }

  /** Rooms with a member on this node. */
  localRooms(): IterableIterator<string> {
    return this.rooms.keys();
  }

  /** Records `name` (on `node`, `null` for this node) in `room`; false if it was there already. */
  add(room: string, name: string, node: string | null): boolean {
    let members = this.rooms.get(room);
    if (members === undefined) this.rooms.set(room, (members = new Map<string, string | null>()));
    else if (members.has(name)) return false;
    members.set(name, node);
    if (node === null) {
      let rooms = this.byName.get(name);
      if (rooms === undefined) this.byName.set(name, (rooms = new Set()));
      rooms.add(room);
    }
    return true;
  }

  /** Removes `name` from `room`; false if it was not there. A room with no local member left is forgotten. */
  remove(room: string, name: string): boolean {
    const members = this.rooms.get(room);
    if (members === undefined || !members.has(name)) return false;
    const node = members.get(name);
    members.delete(name);
    if (node === null) {
      const rooms = this.byName.get(name)!;
      rooms.delete(room);
      if (rooms.size === 0) this.byName.delete(name);
      if (!this.hasLocal(members)) this.rooms.delete(room);
    }
    return true;
  }

  /** The remote member `name` of `room` is on `node` now (it resumed there). */
  move(room: string, name: string, node: string): void {
    const members = this.rooms.get(room);
    if (members?.get(name) !== undefined) members.set(name, node);
  }

  /** Forgets the members on `node` (another node, in a cluster) of every room; returns them per room. */
  removeNode(node: string): Array<readonly [room: string, name: string]> {
    const removed: Array<readonly [string, string]> = [];
    for (const [room, members] of this.rooms) {
      for (const [name, at] of members) {
        if (at !== node) continue;
        members.delete(name);
        removed.push([room, name]);
      }
    }
    return removed;
  }

  /** Nodes other than this one holding members of the rooms local peers are in. */
  remoteNodes(into: Set<string>): void {
    for (const members of this.rooms.values()) for (const node of members.values()) if (node !== null) into.add(node);
  }

  private hasLocal(members: Map<string, string | null>): boolean {
    for (const node of members.values()) if (node === null) return true;
    return false;
  }
}
