import { MeshFullError } from './room-errors.js';
import type { SignallingClient } from './signalling-client.js';
import type { MemberEvent, RoomJoinedEvent, RoomPartedEvent } from './types.js';

/** The calls a mesh drives (the {@link PeerConnectionManager}'s). */
export interface MeshCalls {
  call(peer: string): unknown;
  hangUp(peer: string): void;
}

/**
 * Mesh calls: in each room joined through it, a call with every other
 * member. The newcomer calls the members it finds (so two members never both
 * call, except when two join at once on different nodes: the manager's glare
 * rule settles that by name order); the others answer. A member that parts is
 * hung up on, unless it shares another mesh room with this peer.
 */
export class Mesh {
  /** Mesh rooms, with their other members. */
  private readonly rooms = new Map<string, Set<string>>();
  private readonly listeners = {
    'room-joined': ({ room, members, rejoined }: RoomJoinedEvent) => {
      // The first join is handled by join(). A join again after a fresh login: the members heard this peer
      // part (and `leave`) and hung up, so each call is placed afresh, this peer being the newcomer again.
      if (!rejoined || !this.rooms.has(room)) return;
      this.rooms.set(room, new Set(members));
      for (const member of members) {
        this.calls.hangUp(member);
        this.calls.call(member);
      }
    },
    'room-parted': ({ room }: RoomPartedEvent) => this.forget(room),
    joined: ({ room, name }: MemberEvent) => this.rooms.get(room)?.add(name),
    parted: ({ room, name }: MemberEvent) => {
      if (this.rooms.get(room)?.delete(name) === true && !this.shared(name)) this.calls.hangUp(name);
    },
  };

  constructor(
    private readonly client: SignallingClient,
    private readonly calls: MeshCalls,
    private readonly maxSize: number,
  ) {
    const on = this.listeners;
    client.on('room-joined', on['room-joined']).on('room-parted', on['room-parted']);
    client.on('joined', on.joined).on('parted', on.parted);
  }

  /** The mesh rooms. */
  get joined(): string[] {
    return [...this.rooms.keys()];
  }

  async join(room: string): Promise<string[]> {
    const members = await this.client.join(room);
    if (members.length + 1 > this.maxSize) {
      // The MeshFullError says what matters; a failed part (the connection went) leaves nothing to undo.
      if (!this.rooms.has(room)) this.client.part(room).catch(() => undefined);
      throw new MeshFullError(room, members.length + 1, this.maxSize);
    }
    // Members that joined between the reply and now arrive as joined and call this peer.
    const known = this.rooms.get(room);
    this.rooms.set(room, new Set([...members, ...(known ?? [])]));
    for (const member of members) this.calls.call(member);
    return members;
  }

  part(room: string): Promise<void> {
    const parted = this.client.part(room);
    this.forget(room);
    return parted;
  }

  /** Stops listening to the client (the calls stay). */
  close(): void {
    const on = this.listeners;
    this.client.off('room-joined', on['room-joined']).off('room-parted', on['room-parted']);
    this.client.off('joined', on.joined).off('parted', on.parted);
    this.rooms.clear();
  }

  /** Leaves `room`'s calls: hangs up its members who share no other mesh room. */
  private forget(room: string): void {
    const members = this.rooms.get(room);
    if (members === undefined) return;
    this.rooms.delete(room);
    for (const member of members) if (!this.shared(member)) this.calls.hangUp(member);
  }

  private shared(name: string): boolean {
    for (const members of this.rooms.values()) if (members.has(name)) return true;
    return false;
  }
}
