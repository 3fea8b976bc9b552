import type { Envelope } from '../core/backplane.js';
import { decodeUtf8 } from '../protocol/utf8.js';

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

const kinds: ReadonlyArray<Envelope['kind']> = ['candidate', 'offer', 'answer', 'leave', 'message', 'moved'];

/** The kind written in `text[start, end)`, as the one string of that kind (no slice to hash), or undefined. */
function kindAt(text: string, start: number, end: number): Envelope['kind'] | undefined {
  for (const kind of kinds) if (end - start === kind.length && sameAt(text, start, kind)) return kind;
  return undefined;
}

/**
 * Whether `text` holds `part` at `at` (`at + part.length` within `text`). Compared unit by unit:
 * `startsWith` at an offset of a long string (a whole batch) costs several times more.
 */
function sameAt(text: string, at: number, part: string): boolean {
  for (let i = 0; i < part.length; i++) if (text.charCodeAt(at + i) !== part.charCodeAt(i)) return false;
  return true;
}

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

/**
 * An envelope on its way into a batch: its frame as text, or `length` bytes
 * given apart (a relay's frame from the byte path, which is never decoded).
 */
export interface EnvelopeParts {
  readonly kind: string;
  readonly fromNode: string;
  readonly from: string;
  readonly to: string;
  readonly text: string | undefined;
  readonly length: number;
}

/** The envelope's size as a batch's byte cap counts it: UTF-16 units of its text, or bytes of its frame. */
export function partsSize(parts: EnvelopeParts): number {
  return (
    parts.kind.length + parts.fromNode.length + parts.from.length + 2 * parts.to.length + 4 + (parts.text?.length ?? parts.length)
  );
}

/** Bytes the envelope's text may take in UTF-8 at most (3 per unit; a frame given as bytes, its own length). */
function bodyBound(parts: EnvelopeParts): number {
  const head = (parts.kind.length + parts.fromNode.length + parts.from.length + parts.to.length + 4) * 3;
  return head + (parts.text === undefined ? parts.length : parts.text.length * 3);
}

/** Bytes {@link writeFramedParts} may need for `parts` at most. */
export function partsBound(parts: EnvelopeParts): number {
  const body = bodyBound(parts);
  return digitsOf(body) + 1 + body;
}

/**
 * Writes the envelope `parts` byte-framed into `buffer` at `at`, which has
 * {@link partsBound} bytes free (a frame without text is copied from
 * `frame`, `parts.length` bytes); returns the offset after it. The length
 * goes in as many digits as the bound needs (zero-padded), so the envelope
 * is written once, straight into place.
 */
export function writeFramedParts(buffer: Buffer, at: number, parts: EnvelopeParts, frame?: Uint8Array): number {
  const text = parts.text;
  const digits = digitsOf(bodyBound(parts));
  const start = at + digits + 1;
  const head = headOf(parts.kind, parts.fromNode);
  buffer.set(head, start);
  let end = writeField(buffer, start + head.length, parts.from);
  end = writeField(buffer, end, parts.to);
  if (text !== undefined) end += buffer.write(text, end, 'utf8');
  else {
    buffer.set(frame!, end);
    end += parts.length;
  }
  buffer[start - 1] = 59; // ;
  let length = end - start;
  for (let i = start - 2; i >= at; i--) {
    buffer[i] = 48 + (length % 10);
    length = Math.floor(length / 10);
  }
  return end;
}

/** `kind \t fromNode \t` as bytes for the last node written (a batch's envelopes nearly all share it), by kind. */
let headNode = '';
const heads = new Map<string, Buffer>();

function headOf(kind: string, fromNode: string): Buffer {
  if (fromNode !== headNode) {
    headNode = fromNode;
    heads.clear();
  }
  let head = heads.get(kind);
  if (head === undefined) {
    head = Buffer.from(`${kind}\t${fromNode}\t`);
    heads.set(kind, head);
  }
  return head;
}

/**
 * Writes `text` and a tab at `at`; returns the offset after them. Names and
 * node ids are short and nearly always ASCII: a loop over their units costs
 * less than a call into the runtime's encoder, which takes over at the first
 * other unit.
 */
function writeField(buffer: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x80) {
      at += buffer.write(text.slice(i), at, 'utf8');
      buffer[at] = 9;
      return at + 1;
    }
    buffer[at++] = unit;
  }
  buffer[at] = 9;
  return at + 1;
}

/** The parts of a whole envelope (its frame as text). */
function partsOf(envelope: Envelope): EnvelopeParts {
  return { ...envelope, text: envelope.frame, length: 0 };
}

/** Bytes {@link writeFramedEnvelope} may need for `envelope` at most. */
export function framedBytesBound(envelope: Envelope): number {
  return partsBound(partsOf(envelope));
}

/** Writes `envelope` byte-framed into `buffer` at `at` (see {@link writeFramedParts}). */
export function writeFramedEnvelope(buffer: Buffer, at: number, envelope: Envelope): number {
  return writeFramedParts(buffer, at, partsOf(envelope));
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
  // Read once per batch: each getter costs about as much as the view made from them.
  const store = ascii?.buffer;
  const base = ascii?.byteOffset ?? 0;
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
    const envelope = decodeAt(text, start, end, ascii, store, base);
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
  // One decode for the whole message: when it is as long as its bytes and holds no U+FFFD, it is
  // ASCII (the usual case): byte lengths are UTF-16 lengths, names are slices of it and frames stay
  // views of the bytes. (A multi-byte sequence makes the text shorter; each invalid byte reads as
  // one U+FFFD, and such frames are read as text, so that the target gets valid UTF-8.)
  const text = bytes.toString();
  if (text.length === bytes.length && !text.includes('\uFFFD')) return decodeFramed(text, 59 /* ; */, bytes);
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
 * An envelope read from a batch's bytes: its frame stays those bytes (a view
 * of the channel message), which the hub writes to the target's socket as
 * they are; `frame`, its text, is made only if something asks for it. Lives
 * as long as its delivery: whatever keeps a frame longer (a parked relay, a
 * hand-over's queue) keeps a copy or the text, not the view.
 */
class ReceivedEnvelope implements Envelope {
  private text: string | undefined = undefined;

  constructor(
    public kind: Envelope['kind'],
    public fromNode: string,
    public from: string,
    public to: string,
    public bytes: Uint8Array | undefined,
  ) {}

  get frame(): string {
    return (this.text ??= decodeUtf8(this.bytes!));
  }

  set frame(text: string) {
    this.text = text;
    this.bytes = undefined;
  }
}

/**
 * The envelope in `text[start, end)`. With `ascii` (the bytes of `text`, one per unit),
 * the frame stays a view of the bytes, and the sender and its node are copied
 * out of them rather than sliced from `text`: a slice keeps the whole batch
 * alive as long as it lives (a call partner's node and name).
 */
function decodeAt(
  text: string,
  start: number,
  end: number,
  ascii?: Buffer,
  store?: ArrayBufferLike,
  base = 0,
): Envelope | undefined {
  const a = text.indexOf('\t', start);
  const b = a < 0 ? -1 : text.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : text.indexOf('\t', b + 1);
  const d = c < 0 ? -1 : text.indexOf('\t', c + 1);
  if (d < 0 || d >= end) return undefined;
  const kind = kindAt(text, start, a);
  if (kind === undefined) return undefined;
  if (ascii === undefined) {
    return {
      kind,
      fromNode: text.slice(a + 1, b),
      from: text.slice(b + 1, c),
      to: text.slice(c + 1, d),
      frame: text.slice(d + 1, end),
    };
  }
  // A slice and one comparison: unit by unit in JavaScript (or startsWith at an offset) costs several times more.
  const fromNode =
    b - a - 1 === lastNode.length && text.slice(a + 1, b) === lastNode ? lastNode : (lastNode = ascii.toString('utf8', a + 1, b));
  return new ReceivedEnvelope(
    kind,
    fromNode,
    // V8 copies a slice shorter than 13 units anyway; a longer sender name (kept as a call partner) is copied here.
    c - b <= 13 ? text.slice(b + 1, c) : ascii.toString('utf8', b + 1, c),
    text.slice(c + 1, d),
    new Uint8Array(store!, base + d + 1, end - d - 1),
  );
}
