/** What one node tells the others about a room: a member joined or parted, or a broadcast. */
export interface RoomMessage {
  readonly room: string;
  /** `moved`: the member resumed on the sending node (nothing reaches a client). */
  readonly kind: 'joined' | 'parted' | 'broadcast' | 'moved';
  /** The member it is about, or the broadcast's sender (`''`: the host). */
  readonly name: string;
  /** The exact frame the room's members receive. */
  readonly frame: string;
}

/*
 * On the wire: `[room,kind,name]` as JSON, a newline, then the frame as it
 * is (JSON never holds a raw newline), so a broadcast's frame is neither
 * escaped nor parsed on its way between nodes.
 */
export function encodeRoomMessage(message: RoomMessage): string {
  return JSON.stringify([message.room, message.kind, message.name]) + '\n' + message.frame;
}

/** `undefined` for anything malformed (a node of another version, say): it is ignored. */
export function decodeRoomMessage(text: string): RoomMessage | undefined {
  const end = text.indexOf('\n');
  if (end < 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [room, kind, name] = value as unknown[];
  if (typeof room !== 'string' || typeof name !== 'string') return undefined;
  if (kind !== 'joined' && kind !== 'parted' && kind !== 'broadcast' && kind !== 'moved') return undefined;
  return { room, kind, name, frame: text.slice(end + 1) };
}
