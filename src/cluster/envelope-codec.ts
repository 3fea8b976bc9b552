import type { Envelope } from '../core/backplane.js';

/*
 * An envelope on a node's channel: `kind \t fromNode \t from \t to \t frame`.
 * Names and node ids never hold control characters, so a tab cannot occur
 * before the frame, and the frame travels as it is (no second JSON round).
 *
 * One message on a channel carries one or more envelopes, each framed by its
 * length so that messages concatenate: the FORWARD script publishes a batch's
 * envelopes for one node in one message.
 *
 * - `<length>:<envelope>`: length in UTF-16 code units, as JavaScript counts
 *   (read from the message as text; MemoryCluster and earlier versions).
 * - `<length>;<envelope>`: length in UTF-8 bytes, leading zeros allowed
 *   (written straight into a batch's buffer and read from the message's bytes,
 *   so neither side turns a whole batch into text; Redis splits it by bytes).
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

/** The length of {@link encodeEnvelope}'s text for `envelope`, in UTF-16 units, without making it. */
export function envelopeLength(envelope: Envelope): number {
  return envelope.kind.length + envelope.fromNode.length + envelope.from.length + envelope.to.length + envelope.frame.length + 4;
}

/** Bytes {@link writeFramedEnvelope} may need for `envelope` at most. */
export function framedBytesBound(envelope: Envelope): number {
  const units = envelopeLength(envelope);
  return digitsOf(units * 3) + 1 + units * 3;
}

/**
 * Writes `envelope` (its {@link encodeEnvelope} text) byte-framed into
 * `buffer` at `at`, which has {@link framedBytesBound} bytes free; returns
 * the offset after it. The length goes in as many digits as the bound needs
 * (zero-padded), so the envelope is encoded once, straight into place; the
 * frame is written on its own, so no joined copy of it is made.
 */
export function writeFramedEnvelope(buffer: Buffer, at: number, envelope: Envelope): number {
  const digits = digitsOf(envelopeLength(envelope) * 3);
  const start = at + digits + 1;
  const head = buffer.write(`${envelope.kind}\t${envelope.fromNode}\t${envelope.from}\t${envelope.to}\t`, start, 'utf8');
  const written = head + buffer.write(envelope.frame, start + head, 'utf8');
  buffer[start - 1] = 59; // ;
  let length = written;
  for (let i = start - 2; i >= at; i--) {
    buffer[i] = 48 + (length % 10);
    length = Math.floor(length / 10);
  }
  return start + written;
}

function digitsOf(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : String(n).length;
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
  return decodeFramed(text, 58 /* : */);
}

/**
 * Envelopes framed by `<length><separator>` in `text`, lengths in UTF-16
 * units; `ascii`: the bytes of `text`, one byte per unit, to copy frames from.
 */
function decodeFramed(text: string, separator: number, ascii?: Buffer): Envelope[] | undefined {
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
    if (digits === 0 || code !== separator) return undefined;
    const start = at + 1;
    const end = start + length;
    if (end > text.length) return undefined;
    const envelope = decodeAt(text, start, end, ascii);
    if (envelope === undefined) return undefined;
    envelopes.push(envelope);
    at = end;
  }
  return envelopes;
}

/** Whether `bytes` starts as a byte-framed envelope (`<digits>;`): read it with {@link decodeEnvelopeBytes}, else as text. */
export function isByteFramed(bytes: Uint8Array): boolean {
  let at = 0;
  while (at < bytes.length && at <= 10) {
    const code = bytes[at]!;
    if (code === 59) return at > 0;
    if (code < 48 || code > 57) return false;
    at++;
  }
  return false;
}

/** The byte-framed envelopes of one channel message, in order, or `undefined` if any part is malformed. */
export function decodeEnvelopeBytes(bytes: Buffer): Envelope[] | undefined {
  if (bytes.length === 0) return undefined;
  // One decode for the whole message: when it is as long as its bytes (ASCII, the usual case), byte
  // lengths are UTF-16 lengths and the envelopes are slices of it. (Every decoded unit then stands for
  // one byte, invalid bytes included: only a multi-byte sequence makes the text shorter.)
  const text = bytes.toString();
  if (text.length === bytes.length) return decodeFramed(text, 59 /* ; */, bytes);
  const envelopes: Envelope[] = [];
  const total = bytes.length;
  let at = 0;
  while (at < total) {
    let length = 0;
    let digits = 0;
    let code = bytes[at];
    while (code !== undefined && code >= 48 && code <= 57 && digits < 10) {
      length = length * 10 + (code - 48);
      digits++;
      code = bytes[++at];
    }
    if (digits === 0 || code !== 59 /* ; */) return undefined;
    const start = at + 1;
    const end = start + length;
    if (end > total) return undefined;
    const envelope = decodeEnvelope(bytes.toString('utf8', start, end));
    if (envelope === undefined) return undefined;
    envelopes.push(envelope);
    at = end;
  }
  return envelopes;
}

/** The last sender node decoded from a batch, as a string of its own (most envelopes of a batch share it). */
let lastNode = '';

/**
 * The envelope in `text[start, end)`. With `ascii` (the bytes of `text`, one per unit),
 * the frame, the sender and its node are copied out of the bytes rather than
 * sliced from `text`: a slice keeps the whole batch alive as long as it
 * lives (a parked frame, a call partner's node), and the hub reads a flat
 * frame faster.
 */
function decodeAt(text: string, start: number, end: number, ascii?: Buffer): Envelope | undefined {
  const a = text.indexOf('\t', start);
  const b = a < 0 ? -1 : text.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : text.indexOf('\t', b + 1);
  const d = c < 0 ? -1 : text.indexOf('\t', c + 1);
  if (d < 0 || d >= end) return undefined;
  const kind = text.slice(start, a);
  if (!kinds.has(kind)) return undefined;
  let fromNode = text.slice(a + 1, b);
  if (ascii !== undefined) {
    if (fromNode === lastNode) fromNode = lastNode;
    else fromNode = lastNode = ascii.toString('utf8', a + 1, b);
  }
  return {
    kind: kind as Envelope['kind'],
    fromNode,
    // V8 copies a slice shorter than 13 units anyway; a longer sender name (kept as a call partner) is copied here.
    from: ascii === undefined || c - b <= 13 ? text.slice(b + 1, c) : ascii.toString('utf8', b + 1, c),
    to: text.slice(c + 1, d),
    frame: ascii === undefined ? text.slice(d + 1, end) : ascii.toString('utf8', d + 1, end),
  };
}
