/*
 * The wire of rooms (see PROTOCOL.md, "Rooms"). Frames are built by
 * concatenation like relays: a room's name and a member's name are
 * JSON-encoded once per request, and a broadcast stringifies its data once
 * for every member it reaches.
 */

/** Message types a logged-in client sends about rooms (and the opt-in `peers` listing). */
export type RoomRequestType = 'join' | 'part' | 'broadcast' | 'peers';

/** `reason` of a refused `join`. */
export enum JoinRefusal {
  /** The room has `maxRoomMembers` members. */
  RoomFull = 'room-full',
  /** The host's `authorizeJoin` hook refused (or threw). */
  Forbidden = 'forbidden',
  /** The room's name breaks the name rules (or is not a string). */
  InvalidRoom = 'invalid-room',
  /** The peer is in `maxRoomsPerPeer` rooms already. */
  TooManyRooms = 'too-many-rooms',
  /** In a cluster: the backplane is unreachable, so the room cannot be joined cluster-wide. */
  BackplaneUnavailable = 'backplane-unavailable',
}

/** `{"type":"join","success":true,"room":R,"members":[…]}`: `members` are the others, in the order they joined. */
export function encodeJoinSuccess(room: string, members: readonly string[]): string {
  return JSON.stringify({ type: 'join', success: true, room, members });
}

export function encodeJoinRefused(room: unknown, reason: `${JoinRefusal}`, message: string): string {
  return JSON.stringify({ type: 'join', success: false, room: typeof room === 'string' ? room : undefined, reason, message });
}

/** The human-readable `message` of a refused join. */
export function refusalMessage(reason: `${JoinRefusal}`, room: string, maxRoomMembers: number, maxRoomsPerPeer: number): string {
  switch (reason) {
    case 'room-full':
      return `Room is full: ${room} has ${maxRoomMembers} members`;
    case 'forbidden':
      return `Joining ${room} was refused by the server`;
    case 'invalid-room':
      return 'Invalid room name';
    case 'too-many-rooms':
      return `Too many rooms: a peer may be in ${maxRoomsPerPeer}`;
    case 'backplane-unavailable':
      return `Cannot join ${room}: the cluster backplane is unavailable`;
  }
}

export function encodePartSuccess(room: string): string {
  return JSON.stringify({ type: 'part', success: true, room });
}

/** `{"type":"joined","room":R,"name":N}`, both already JSON-encoded. */
export function encodeJoined(roomJson: string, nameJson: string): string {
  return '{"type":"joined","room":' + roomJson + ',"name":' + nameJson + '}';
}

/** `{"type":"parted","room":R,"name":N}`, both already JSON-encoded. */
export function encodeParted(roomJson: string, nameJson: string): string {
  return '{"type":"parted","room":' + roomJson + ',"name":' + nameJson + '}';
}

/**
 * `{"type":"broadcast","room":R,"name":N,"data":X}`; without `nameJson` (a
 * broadcast of the host's own, `hub.broadcast()`) there is no `name`.
 */
export function encodeBroadcast(roomJson: string, nameJson: string | undefined, dataJson: string): string {
  return nameJson === undefined
    ? '{"type":"broadcast","room":' + roomJson + ',"data":' + dataJson + '}'
    : '{"type":"broadcast","room":' + roomJson + ',"name":' + nameJson + ',"data":' + dataJson + '}';
}

/** `{"type":"peers","names":[…],"next":C}`: `next` is the cursor of the next page, `null` after the last. */
export function encodePeersPage(names: readonly string[], next: string | null): string {
  return JSON.stringify({ type: 'peers', names, next });
}
