import type { Envelope } from '../core/backplane.js';

/*
 * An envelope on a node's channel: `kind \t fromNode \t from \t to \t frame`.
 * Names and node ids never hold control characters, so a tab cannot occur
 * before the frame, and the frame travels as it is (no second JSON round).
 *
 * One message on a channel carries one or more envelopes, each as
 * `<length>:<envelope>` (length in UTF-16 code units, as JavaScript counts):
 * the FORWARD script concatenates them per destination node, so one PUBLISH
 * serves every envelope sent to that node in one event-loop turn.
 */

const kinds = new Set<string>(['offer', 'answer', 'candidate', 'leave', 'message', 'moved']);

export function encodeEnvelope(envelope: Envelope): string {
  return `${envelope.kind}\t${envelope.fromNode}\t${envelope.from}\t${envelope.to}\t${envelope.frame}`;
}

/** `envelope` framed for concatenation with others into one channel message. */
export function encodeFramedEnvelope(envelope: Envelope): string {
  const text = encodeEnvelope(envelope);
  return `${text.length}:${text}`;
}

/** The envelope in `text`, or `undefined` if it is not one. */
export function decodeEnvelope(text: string): Envelope | undefined {
  return decodeAt(text, 0, text.length);
}

/**
 * The envelopes of one channel message, in order, or `undefined` if any part
 * is malformed. A bare envelope (no length prefix, as nodes of earlier
 * versions publish) is read as a message of one.
 */
export function decodeEnvelopes(text: string): Envelope[] | undefined {
  const first = text.charCodeAt(0);
  if (!(first >= 48 && first <= 57)) {
    const envelope = decodeEnvelope(text);
    return envelope === undefined ? undefined : [envelope];
  }
  const envelopes: Envelope[] = [];
  let at = 0;
  while (at < text.length) {
    let length = 0;
    let digits = 0;
    let code = text.charCodeAt(at);
    while (code >= 48 && code <= 57 && digits < 10) {
      length = length * 10 + (code - 48);
      digits++;
      code = text.charCodeAt(++at);
    }
    if (digits === 0 || code !== 58 /* : */) return undefined;
    const start = at + 1;
    const end = start + length;
    if (end > text.length) return undefined;
    const envelope = decodeAt(text, start, end);
    if (envelope === undefined) return undefined;
    envelopes.push(envelope);
    at = end;
  }
  return envelopes;
}

function decodeAt(text: string, start: number, end: number): Envelope | undefined {
  const a = text.indexOf('\t', start);
  const b = a < 0 ? -1 : text.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : text.indexOf('\t', b + 1);
  const d = c < 0 ? -1 : text.indexOf('\t', c + 1);
  if (d < 0 || d >= end) return undefined;
  const kind = text.slice(start, a);
  if (!kinds.has(kind)) return undefined;
  return {
    kind: kind as Envelope['kind'],
    fromNode: text.slice(a + 1, b),
    from: text.slice(b + 1, c),
    to: text.slice(c + 1, d),
    frame: text.slice(d + 1, end),
  };
}
