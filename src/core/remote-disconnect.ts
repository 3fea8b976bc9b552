import type { AdapterPort } from './adapter-port.js';
import type { Backplane } from './backplane.js';

/** What became of a message of the host's own: see `SignallingHub.deliver`. */
export type DeliveryResult = 'delivered' | 'held' | 'not-found' | 'congested' | 'unavailable';

/** The adapter-port channel on which nodes ask each other to close a peer. */
export const DISCONNECT_CHANNEL = 'signalling-hub/disconnect';

/** A disconnect request from another node, or `undefined` when it is not one. */
export function parseDisconnect(payload: string): { name: string; reason: string; replace: boolean } | undefined {
  try {
    const { name, reason, replace } = JSON.parse(payload) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof reason !== 'string') return undefined;
    return { name, reason, replace: replace === true };
  } catch {
    return undefined;
  }
}

/**
 * Asks the node that holds `name` to close it (`replace`: as a replaced
 * login, 4409; else as `hub.disconnect()`, 4403); resolves whether it did.
 * The Backplane has no lookup of a name's node, but a `moved` envelope from
 * nobody finds it: its far side changes nothing (no peer has a partner named
 * `''`) and the backplane answers with the holder's node.
 */
export async function closeRemote(
  backplane: Backplane | undefined,
  sendToNode: AdapterPort['sendToNode'],
  name: string,
  reason: string,
  replace: boolean,
): Promise<boolean> {
  if (backplane === undefined || sendToNode === undefined) return false;
  const found = await backplane.forward({ kind: 'moved', from: '', fromNode: backplane.nodeId, to: name, frame: '' });
  if (!found.delivered || found.node === backplane.nodeId) return false;
  const reply = await sendToNode(found.node, DISCONNECT_CHANNEL, JSON.stringify({ name, reason, replace }));
  return reply.delivered && reply.reply === '1';
}
