import { ErrorCode } from '../../protocol/error-codes.js';
import { checkName } from '../../protocol/names.js';
import {
  JoinRefusal,
  type RoomRequestType,
  encodeBroadcast,
  encodeJoinRefused,
  encodeJoinSuccess,
  encodeJoined,
  encodePartSuccess,
  refusalMessage,
  encodeParted,
} from '../../protocol/rooms.js';
import type { Backplane } from '../backplane.js';
import type { Connection } from '../connection.js';
import { ConnectionState } from '../connection-state.js';
import { HookError } from '../errors.js';
import type { ResolvedHubOptions } from '../options.js';
import type { Peer } from '../peer.js';
import type { RoomPartReason } from './room-events.js';
import { type RoomMessage, decodeRoomMessage, encodeRoomMessage } from './room-message.js';
import { RoomTable } from './room-table.js';
import { JoinHold } from './join-hold.js';
import { listPeers } from './peer-list.js';
import { answerHolder, askHolder } from './remote-rooms.js';

/** What rooms need from their hub. */
export interface RoomsHost {
  readonly options: ResolvedHubOptions;
  /** The local connection holding `name`. */
  holder(name: string): Connection | undefined;
  /** The names of logged-in peers on this node (for the `peers` listing). */
  names(): Iterable<string>;
  joined(room: string, peer: Peer): void;
  parted(room: string, name: string, reason: RoomPartReason): void;
  /** A join was refused (reported like a protocol error). */
  refused(connection: Connection, reason: `${JoinRefusal}`, message: string): void;
  reportError(error: unknown): void;
}

type Verdict = true | `${JoinRefusal}`;

export { ROOMS_CHANNEL } from './remote-rooms.js';

/**
 * Rooms: join, part and broadcast for this node's peers, and, with a
 * backplane that has the room methods, across the cluster (membership in the
 * bus; one message per node holding members). Frames to a member go in the
 * order they were made, with its relays; a broadcast to a congested member is
 * dropped for that member alone, like a relay.
 */
export class Rooms {
  readonly table = new RoomTable();
  private readonly holds = new JoinHold<Connection>();
  private readonly backplane: Backplane | undefined;

  constructor(private readonly host: RoomsHost) {
    const backplane = host.options.backplane;
    this.backplane = backplane?.joinRoom !== undefined ? backplane : undefined;
  }

  /** A room request of a logged-in connection (`join`, `part`, `broadcast`, `peers`). */
  request(connection: Connection, type: RoomRequestType, fields: Record<string, unknown>): void {
    if (this.holds.waiting(connection)) {
      if (!this.holds.add(connection, type, fields, this.host.options.maxPendingMessages))
        connection.fail(ErrorCode.RateLimited, 'Too many room messages while a join is being decided: wait for its reply', type);
      return;
    }
    if (type === 'peers') {
      const { peerListPageSize, backplane } = this.host.options;
      return listPeers(connection, fields.cursor, peerListPageSize, this.host.names(), backplane);
    }
    const room = fields.room;
    if (type === 'join') {
      const invalid = typeof room === 'string' ? checkName(room, this.host.options.maxNameLength) : 'room must be a string';
      if (invalid !== undefined) {
        const message = `Invalid room: ${invalid.replace('name', 'the room name')}`;
        connection.send(encodeJoinRefused(room, JoinRefusal.InvalidRoom, message));
        this.host.refused(connection, JoinRefusal.InvalidRoom, message);
        return;
      }
      this.joinRequested(connection, room as string);
      return;
    }
    if (typeof room !== 'string') {
      connection.fail(ErrorCode.InvalidMessage, `Invalid ${type}: "room" must be the room's name`, type);
      return;
    }
    if (!this.table.has(room, connection.name)) {
      connection.fail(ErrorCode.NotInRoom, `Not in room: ${room}`, type, room);
      return;
    }
    if (type === 'part') {
      this.leave(room, connection.name, 'part');
      connection.send(encodePartSuccess(room));
      return;
    }
    if (!('data' in fields) || fields.data === undefined) {
      connection.fail(ErrorCode.InvalidMessage, 'Invalid broadcast: the "data" field is missing', type, room);
      return;
    }
    this.broadcastFrom(room, connection.name, connection.nameJson, JSON.stringify(fields.data));
  }

  // --- Joining ---

  private joinRequested(connection: Connection, room: string): void {
    const name = connection.name;
    const early = this.precheck(room, name);
    if (early !== undefined) return this.answer(connection, room, early);
    const hook = this.host.options.authorizeJoin;
    if (hook === undefined) return this.admit(connection, room);
    let verdict: unknown;
    try {
      verdict = hook({ peer: connection.peer(), room });
    } catch (error) {
      this.host.reportError(new HookError('authorizeJoin', error));
      return this.answer(connection, room, JoinRefusal.Forbidden);
    }
    const decided = (allowed: unknown) => {
      // Gone, or another login under the name, while the hook decided: nothing to answer.
      if (connection.state !== ConnectionState.Joined || connection.name !== name) return;
      if (allowed === false) return this.answer(connection, room, JoinRefusal.Forbidden);
      const again = this.precheck(room, name);
      if (again !== undefined) return this.answer(connection, room, again);
      this.admit(connection, room);
    };
    if (!isThenable(verdict)) return decided(verdict);
    this.holds.hold(connection);
    verdict.then(decided, (error: unknown) => {
      this.host.reportError(new HookError('authorizeJoin', error));
      if (connection.state === ConnectionState.Joined && connection.name === name)
        this.answer(connection, room, JoinRefusal.Forbidden);
    });
  }

  /** `true` when already a member (a join is then a no-op success), a refusal, or `undefined` to go on. */
  private precheck(room: string, name: string): Verdict | undefined {
    if (this.table.has(room, name)) return true;
    if ((this.table.roomsOf(name)?.size ?? 0) >= this.host.options.maxRoomsPerPeer) return JoinRefusal.TooManyRooms;
    return undefined;
  }

  /** Adds a local peer to `room` (the room-full check included) and tells everyone. */
  private admit(connection: Connection, room: string): void {
    const name = connection.name;
    const max = this.host.options.maxRoomMembers;
    const backplane = this.backplane;
    if (backplane === undefined) {
      if ((this.table.members(room)?.size ?? 0) >= max) return this.answer(connection, room, JoinRefusal.RoomFull);
      this.added(connection, room, undefined);
      return;
    }
    this.holds.hold(connection);
    backplane.joinRoom!(room, name, max, this.announcement(room, 'joined', name)).then(
      (result) => {
        const holder = this.host.holder(name);
        if (holder === undefined || holder.state >= ConnectionState.Transferring) {
          // Gone while the cluster decided: undo (the others heard it join: they hear it part).
          if (result.joined) this.partRemote(room, name);
          return;
        }
        if (!result.joined)
          return this.answer(
            holder,
            room,
            result.reason === 'room-full' ? JoinRefusal.RoomFull : JoinRefusal.BackplaneUnavailable,
          );
        this.added(holder, room, result.members);
      },
      (error: unknown) => {
        this.host.reportError(error);
        if (connection.state === ConnectionState.Joined) this.answer(connection, room, JoinRefusal.BackplaneUnavailable);
      },
    );
  }

  /** `name` is a member now: it gets the member list; the others hear `joined`. */
  private added(connection: Connection, room: string, remote: ReadonlyArray<readonly [string, string]> | undefined): void {
    const name = connection.name;
    const table = this.table;
    const self = this.backplane?.nodeId;
    // This node's own members are known here already (the table is their record).
    if (remote !== undefined) for (const [member, node] of remote) if (node !== self) table.add(room, member, node);
    if (!table.add(room, name, null)) return this.answer(connection, room, true);
    const others = remote === undefined ? this.othersIn(room, name) : remote.map(([member]) => member).filter((m) => m !== name);
    this.tell(connection, encodeJoinSuccess(room, others), false);
    const frame = encodeJoined(JSON.stringify(room), connection.nameJson);
    // Other nodes heard it from the bus, atomically with the join.
    this.fanOut(room, name, frame, false);
    this.host.joined(room, connection.peer());
    this.decided(connection);
  }

  private answer(connection: Connection, room: string, verdict: Verdict): void {
    this.answerOnly(connection, room, verdict);
    this.decided(connection);
  }

  /** A join was answered: what the connection sent meanwhile runs now, in order. */
  private decided(connection: Connection): void {
    const held = this.holds.release(connection);
    if (held === undefined) return;
    // A held join that waits again holds the rest (request() queues while it waits).
    for (const [type, fields] of held) if (connection.state === ConnectionState.Joined) this.request(connection, type, fields);
  }

  private answerOnly(connection: Connection, room: string, verdict: Verdict): void {
    if (verdict === true) {
      connection.send(encodeJoinSuccess(room, this.othersIn(room, connection.name)));
      return;
    }
    const { maxRoomMembers, maxRoomsPerPeer } = this.host.options;
    const message = refusalMessage(verdict, room, maxRoomMembers, maxRoomsPerPeer);
    connection.send(encodeJoinRefused(room, verdict, message));
    this.host.refused(connection, verdict, message);
  }

  private othersIn(room: string, name: string): string[] {
    const others: string[] = [];
    for (const member of this.table.members(room)?.keys() ?? []) if (member !== name) others.push(member);
    return others;
  }

  // --- Parting ---

  /** `name` (local) leaves `room`: the others hear `parted`. */
  private leave(room: string, name: string, reason: RoomPartReason): void {
    if (!this.table.remove(room, name)) return;
    const frame = encodeParted(JSON.stringify(room), JSON.stringify(name));
    this.fanOut(room, name, frame, false);
    this.partRemote(room, name);
    this.host.parted(room, name, reason);
  }

  /** Parts `name` in the cluster; the other nodes hear `parted` from the bus, atomically with it. */
  private partRemote(room: string, name: string): void {
    this.backplane?.partRoom!(room, name, this.announcement(room, 'parted', name)).catch((error: unknown) =>
      this.host.reportError(error),
    );
  }

  /** The room message other nodes get for `name` joining or parting `room`. */
  private announcement(room: string, kind: 'joined' | 'parted', name: string): string {
    const roomJson = JSON.stringify(room);
    const nameJson = JSON.stringify(name);
    const frame = kind === 'joined' ? encodeJoined(roomJson, nameJson) : encodeParted(roomJson, nameJson);
    return encodeRoomMessage({ room, kind, name, frame });
  }

  /** The local peer `name` is gone: it parts every room. */
  gone(name: string): void {
    const rooms = this.table.roomsOf(name);
    if (rooms === undefined) return;
    for (const room of [...rooms]) this.leave(room, name, 'left');
  }

  /** Node `nodeId` died: its members part every room, and the local members hear `parted`. */
  nodeDown(nodeId: string): void {
    for (const [room, name] of this.table.removeNode(nodeId)) {
      this.fanOut(room, name, encodeParted(JSON.stringify(room), JSON.stringify(name)), false);
    }
  }

  // --- A resume across nodes: the rooms move with the name, nobody hears parted or joined ---

  /** The local peer `name` was handed over to another node: this node forgets its memberships, silently. */
  movedAway(name: string): void {
    const rooms = this.table.roomsOf(name);
    if (rooms === undefined) return;
    for (const room of [...rooms]) this.table.remove(room, name);
  }

  /** The peer `name` resumed here from `fromNode`: its memberships move here. */
  movedHere(name: string, fromNode: string): void {
    const backplane = this.backplane;
    if (backplane?.moveRooms === undefined) return;
    const self = backplane.nodeId;
    backplane.moveRooms(name, fromNode).then(
      (moved) => {
        for (const [room, members] of moved) {
          for (const [member, node] of members) if (node !== self) this.table.add(room, member, node);
          this.table.add(room, name, null);
          this.publish({ room, kind: 'moved', name, frame: '' });
        }
        // Gone again while the move ran: it parts as any peer that is gone.
        const holder = this.host.holder(name);
        if (holder === undefined || holder.state === ConnectionState.Closed) this.gone(name);
      },
      (error: unknown) => this.host.reportError(error),
    );
  }

  // --- Broadcasts ---

  private broadcastFrom(room: string, name: string | undefined, nameJson: string | undefined, dataJson: string): void {
    const frame = encodeBroadcast(JSON.stringify(room), nameJson, dataJson);
    this.fanOut(room, name, frame, true);
    this.publish({ room, kind: 'broadcast', name: name ?? '', frame });
  }

  /** Delivers `frame` to every local member of `room` but `except`. */
  private fanOut(room: string, except: string | undefined, frame: string, relay: boolean): void {
    const members = this.table.members(room);
    if (members === undefined) return;
    for (const [member, node] of members) {
      if (node !== null || member === except) continue;
      const connection = this.host.holder(member);
      if (connection !== undefined) this.tell(connection, frame, relay);
    }
  }

  /**
   * One frame to one member: a broadcast is dropped when the member is
   * congested (like a relay); `joined`, `parted` and replies always go (small,
   * and a member that missed one would have a wrong roster). A dropped
   * member's frames are held for its resume.
   */
  private tell(connection: Connection, frame: string, relay: boolean): void {
    const state = connection.state;
    if (state === ConnectionState.Joined) {
      if (relay) connection.deliver(frame);
      else connection.send(frame);
    } else if (state === ConnectionState.Dropped) {
      connection.park(frame, '', null, 'message');
    }
  }

  // --- Across nodes ---

  private publish(message: RoomMessage): void {
    const backplane = this.backplane;
    if (backplane === undefined) return;
    backplane.publishToRoom!(message.room, encodeRoomMessage(message)).catch((error: unknown) => this.host.reportError(error));
  }

  /** A room message from another node: its members here hear it; the roster follows joins and parts. */
  received(fromNode: string, text: string): void {
    const message = decodeRoomMessage(text);
    if (message === undefined) return;
    const { room, kind, name, frame } = message;
    if (this.table.members(room) === undefined) return;
    if (kind === 'moved') {
      this.table.move(room, name, fromNode);
      return;
    }
    if (kind === 'joined') this.table.add(room, name, fromNode);
    else if (kind === 'parted') this.table.remove(room, name);
    this.fanOut(room, name === '' ? undefined : name, frame, kind === 'broadcast');
  }

  // --- The host's side ---

  /** Joins the peer `name` of this node to `room` without `authorizeJoin`; false when it is not here or a limit refuses. */
  hostJoin(name: string, room: string): Promise<boolean> {
    const connection = this.host.holder(name);
    if (connection === undefined || (connection.state !== ConnectionState.Joined && connection.state !== ConnectionState.Dropped))
      return Promise.resolve(false);
    const early = this.precheck(room, name);
    if (early === true) return Promise.resolve(true);
    if (early !== undefined) return Promise.resolve(false);
    if (this.backplane === undefined) {
      if ((this.table.members(room)?.size ?? 0) >= this.host.options.maxRoomMembers) return Promise.resolve(false);
      this.added(connection, room, undefined);
      return Promise.resolve(true);
    }
    const announce = this.announcement(room, 'joined', name);
    return this.backplane.joinRoom!(room, name, this.host.options.maxRoomMembers, announce).then((result) => {
      const holder = this.host.holder(name);
      if (holder === undefined || holder.state >= ConnectionState.Transferring) {
        if (result.joined) this.partRemote(room, name);
        return false;
      }
      if (!result.joined) return false;
      this.added(holder, room, result.members);
      return true;
    });
  }

  /** Parts the peer `name` of this node from `room`; it is told `{"type":"part","success":true}`. */
  hostPart(name: string, room: string): boolean {
    if (!this.table.has(room, name)) return false;
    this.leave(room, name, 'host');
    const connection = this.host.holder(name);
    if (connection !== undefined) this.tell(connection, encodePartSuccess(room), false);
    return true;
  }

  /** The host's `join` or `part` of a peer on another node (see remote-rooms.ts). */
  remote(op: 'join' | 'part', name: string, room: string): Promise<boolean> {
    return askHolder(this.backplane, op, name, room);
  }

  /** Another node's {@link remote} request, for a peer of this node. */
  nodeRequest(payload: string): Promise<string> {
    return answerHolder(this, this.host.options.maxNameLength, payload);
  }

  /** A broadcast of the host's own (no `name`) to every member of `room`. */
  hostBroadcast(room: string, dataJson: string): void {
    this.broadcastFrom(room, undefined, undefined, dataJson);
  }

  /** The members of `room`, in join order (cluster-wide with a backplane). */
  async members(room: string): Promise<string[]> {
    if (this.backplane !== undefined) return (await this.backplane.roomMembers!(room)).map(([name]) => name);
    return [...(this.table.members(room)?.keys() ?? [])];
  }

  /** The rooms with members (cluster-wide with a backplane). */
  async rooms(): Promise<string[]> {
    if (this.backplane !== undefined) return [...(await this.backplane.roomList!())];
    return [...this.table.localRooms()];
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
