import { checkName } from '../../protocol/names.js';
import type { Backplane } from '../backplane.js';

/** The node-request channel of the host's `hub.join()`/`hub.part()` for peers of other nodes. */
export const ROOMS_CHANNEL = 'signalling-hub:rooms';

/** What answers a node request for a local peer: the rooms' own host calls. */
export interface LocalRoomCalls {
  hostJoin(name: string, room: string): Promise<boolean>;
  hostPart(name: string, room: string): boolean;
}

/**
 * The host's `join` or `part` of a peer on another node: the cluster tells
 * which node holds the name, and that node is asked (a node request on
 * {@link ROOMS_CHANNEL}). False when no other node holds it.
 */
export async function askHolder(
  backplane: Backplane | undefined,
  op: 'join' | 'part',
  name: string,
  room: string,
): Promise<boolean> {
  if (backplane?.locate === undefined || backplane.sendToNode === undefined) return false;
  const node = await backplane.locate(name);
  if (node === undefined || node === backplane.nodeId) return false;
  const answer = await backplane.sendToNode(node, ROOMS_CHANNEL, JSON.stringify([op, name, room]));
  return answer.delivered && answer.reply === 'true';
}

/** Another node's {@link askHolder} request, answered `'true'` or `'false'` (anything malformed: `'false'`). */
export async function answerHolder(rooms: LocalRoomCalls, maxNameLength: number, payload: string): Promise<string> {
  let request: unknown;
  try {
    request = JSON.parse(payload);
  } catch {
    return 'false';
  }
  if (!Array.isArray(request) || request.length !== 3) return 'false';
  const [op, name, room] = request as unknown[];
  if (typeof name !== 'string' || typeof room !== 'string' || checkName(room, maxNameLength) !== undefined) return 'false';
  if (op === 'join') return String(await rooms.hostJoin(name, room));
  if (op === 'part') return String(rooms.hostPart(name, room));
  return 'false';
}
