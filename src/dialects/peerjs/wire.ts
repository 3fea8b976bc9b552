/**
 * The PeerJS wire as peerjs-server 1.0.x speaks it to the `peerjs` 1.5
 * client: frame types, message texts, the id rule, and how ids map to hub names.
 */

/** Message texts of peerjs-server, sent as `{"type":"ERROR","payload":{"msg":…}}`. */
export const PeerjsErrorText = Object.freeze({
  InvalidKey: 'Invalid key provided',
  InvalidWsParameters: 'No id, token, or key supplied to websocket server',
  ConnectionLimitExceeded: 'Server has reached its concurrent user limit',
  IdTaken: 'ID is taken',
});

/** Relayed types a client may send, and their hub relay type. */
export const RELAY_TYPES: Readonly<Record<string, 'offer' | 'answer' | 'candidate' | 'leave' | undefined>> = Object.freeze(
  // No prototype: a `type` of "toString" or "__proto__" finds nothing.
  Object.assign(
    Object.create(null) as Record<string, 'offer' | 'answer' | 'candidate' | 'leave'>,
    {
      OFFER: 'offer',
      ANSWER: 'answer',
      CANDIDATE: 'candidate',
      LEAVE: 'leave',
    } as const,
  ),
);

/** The PeerJS client's id rule (it refuses other ids before connecting). */
export const PEERJS_ID = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;

/** Longest id taken: longer ones make names the hub would refuse anyway and only cost memory. */
export const MAX_ID_LENGTH = 100;

export const OPEN_FRAME = '{"type":"OPEN"}';
export const ID_TAKEN_FRAME = JSON.stringify({ type: 'ID-TAKEN', payload: { msg: PeerjsErrorText.IdTaken } });

export function errorFrame(msg: string): string {
  return JSON.stringify({ type: 'ERROR', payload: { msg } });
}

/** `{"type":"EXPIRE","src":<the absent id>,"dst":<the sender>}`. */
export function expireFrame(absent: string, sender: string): string {
  return JSON.stringify({ type: 'EXPIRE', src: absent, dst: sender });
}

/** The relay a target receives: `src` set by the server. `payloadJson` is the payload's JSON text. */
export function relayFrame(type: string, srcJson: string, dstJson: string, payloadJson: string): string {
  return '{"type":"' + type + '","src":' + srcJson + ',"dst":' + dstJson + ',"payload":' + payloadJson + '}';
}

/**
 * The hub name of a PeerJS id: `peerjs:<key>:<id>`. Ids never hold `:`, so
 * the mapping is one to one, PeerJS peers of different keys never meet, and
 * classic clients' names (which a host may keep from starting with `peerjs:`)
 * never collide with them.
 */
export function nameOf(prefix: string, id: string): string {
  return prefix + id;
}

/** The prefix of every hub name of `key`. */
export function namePrefix(key: string): string {
  return `peerjs:${key}:`;
}

/** Whether `id` is one a PeerJS client may hold. */
export function validId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH && PEERJS_ID.test(id);
}
