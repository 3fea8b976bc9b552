import type { Envelope } from '../backplane.js';

/*
 * An envelope on a node's channel: `kind \t fromNode \t from \t to \t frame`.
 * Names and node ids never hold control characters, so a tab cannot occur
 * before the frame, and the frame travels as it is (no second JSON round).
 */

const kinds = new Set<string>(['offer', 'answer', 'candidate', 'leave', 'message']);

export function encodeEnvelope(envelope: Envelope): string {
  return `${envelope.kind}\t${envelope.fromNode}\t${envelope.from}\t${envelope.to}\t${envelope.frame}`;
}

/** The envelope in `text`, or `undefined` if it is not one. */
export function decodeEnvelope(text: string): Envelope | undefined {
  const a = text.indexOf('\t');
  const b = text.indexOf('\t', a + 1);
  const c = text.indexOf('\t', b + 1);
  const d = text.indexOf('\t', c + 1);
  if (a < 0 || b < 0 || c < 0 || d < 0) return undefined;
  const kind = text.slice(0, a);
  if (!kinds.has(kind)) return undefined;
  return {
    kind: kind as Envelope['kind'],
    fromNode: text.slice(a + 1, b),
    from: text.slice(b + 1, c),
    to: text.slice(c + 1, d),
    frame: text.slice(d + 1),
  };
}
