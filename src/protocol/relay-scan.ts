import { relayPrefixBytes } from './encode.js';
import type { RelayType } from './messages.js';
import { decodeUtf8 } from './utf8.js';

/** Where a relay's parts lie in the bytes it arrived as; filled by {@link scanRelay}. */
export interface RelayScan {
  type: Exclude<RelayType, 'leave'>;
  /** Where the target's name (the `name` field, no escapes) lies: read it with {@link targetOf}. */
  targetStart: number;
  targetEnd: number;
  /** The payload field's value as raw JSON: bytes `payloadStart` to `payloadEnd`. */
  payloadStart: number;
  payloadEnd: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
/** Deeper values are left to JSON.parse. */
const MAX_DEPTH = 64;
const nesting = new Uint8Array(MAX_DEPTH);

/** Bytes that end a run of plain string content: quote, backslash, control characters. */
const STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STOP[c] = 1;
STOP[QUOTE] = 1;
STOP[BACKSLASH] = 1;
/** JSON whitespace. */
const SPACE = new Uint8Array(256);
SPACE[0x20] = SPACE[0x0a] = SPACE[0x0d] = SPACE[0x09] = 1;
/** Hex digits. */
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
/** Characters allowed after a backslash, `u` aside. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

function skipSpace(b: Uint8Array, i: number, n: number): number {
  while (i < n && SPACE[b[i]!] === 1) i++;
  return i;
}

/** An Int32Array over the whole buffer of the last message scanned (messages of one read share it). */
let wordsBuffer: ArrayBufferLike | undefined;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);

function wordsOf(b: Uint8Array): Int32Array<ArrayBufferLike> {
  if (b.buffer !== wordsBuffer) {
    wordsBuffer = b.buffer;
    words = new Int32Array(b.buffer, 0, b.buffer.byteLength >> 2);
  }
  return words;
}

/** Whether none of the 4 bytes in `x` is a quote, a backslash or a control character (SWAR). */
function plainWord(x: number): boolean {
  const quote = x ^ 0x22222222;
  const backslash = x ^ 0x5c5c5c5c;
  return (
    (((((quote - 0x01010101) | 0) & ~quote) | (((backslash - 0x01010101) | 0) & ~backslash) | (((x - 0x20202020) | 0) & ~x)) &
      0x80808080) ===
    0
  );
}

/**
 * Index after the JSON string whose opening quote is at `i`, or -1. Bytes from 0x80 up are
 * taken as they are: the transport hands over valid UTF-8 (WebSocket requires it of text).
 * Plain content is skipped four aligned bytes at a time.
 */
function skipString(b: Uint8Array, i: number, n: number): number {
  i++;
  for (;;) {
    let run = 0;
    while (i < n && STOP[b[i]!] === 0) {
      i++;
      // A long run: go on a word at a time.
      if (++run === 16) {
        i = skipPlainWords(b, i, n);
        run = 0;
      }
    }
    if (i >= n) return -1;
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH || i + 1 >= n) return -1; // a control character, or the text ends
    const e = b[i + 1]!;
    if (e === 0x75) {
      if (i + 5 >= n || HEX[b[i + 2]!]! + HEX[b[i + 3]!]! + HEX[b[i + 4]!]! + HEX[b[i + 5]!]! !== 4) return -1;
      i += 6;
    } else if (SIMPLE_ESCAPE[e] === 1) {
      i += 2;
    } else {
      return -1;
    }
  }
}

/** From `i`, skips whole aligned 4-byte words of plain string content; the caller checks what follows byte by byte. */
function skipPlainWords(b: Uint8Array, i: number, n: number): number {
  const base = b.byteOffset;
  while (((base + i) & 3) !== 0) {
    if (i >= n || STOP[b[i]!] !== 0) return i;
    i++;
  }
  const all = wordsOf(b);
  const lastWord = (base + n) >> 2; // words from here on reach past the message
  let w = (base + i) >> 2;
  while (w < lastWord && plainWord(all[w]!)) w++;
  return (w << 2) - base;
}

/** Like {@link skipString}, for strings whose raw bytes must be their value: no escapes. */
function skipPlainString(b: Uint8Array, i: number, n: number): number {
  i++;
  while (i < n && STOP[b[i]!] === 0) i++;
  return i < n && b[i] === QUOTE ? i + 1 : -1;
}

const isDigit = (c: number) => c >= ZERO && c <= NINE;

/**
 * Index after the JSON number starting at `i`, or -1. Only numbers that JSON.parse and
 * JSON.stringify carry over unchanged in value are taken: no exponent, at most 15 digits, no -0.
 */
function skipNumber(b: Uint8Array, i: number, n: number): number {
  const negative = b[i] === MINUS;
  if (negative) i++;
  if (i >= n) return -1;
  let digits = 0;
  let nonZero = false;
  let c = b[i]!;
  if (c === ZERO) {
    digits++;
    i++;
  } else if (c > ZERO && c <= NINE) {
    nonZero = true;
    while (i < n && isDigit(b[i]!)) {
      digits++;
      i++;
    }
  } else {
    return -1;
  }
  if (i < n && b[i] === DOT) {
    i++;
    if (i >= n || !isDigit(b[i]!)) return -1;
    while (i < n && isDigit((c = b[i]!))) {
      digits++;
      if (c !== ZERO) nonZero = true;
      i++;
    }
  }
  if (i < n && (b[i] === 0x65 || b[i] === 0x45)) return -1;
  if (digits > 15 || (negative && !nonZero)) return -1;
  return i;
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** Whether the bytes of `b` at `at` are `bytes`. */
function startsWith(b: Uint8Array, at: number, bytes: Uint8Array): boolean {
  if (at + bytes.length > b.length) return false;
  for (let k = 0; k < bytes.length; k++) if (b[at + k] !== bytes[k]) return false;
  return true;
}

/** `i` plus the length of `word` if the bytes at `i` spell it, else -1. */
const skipWord = (b: Uint8Array, i: number, word: Uint8Array) => (startsWith(b, i, word) ? i + word.length : -1);

const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');

/** Skips `"key" :` and the space after it; returns where the value starts, or -1. */
function skipKey(b: Uint8Array, i: number, n: number): number {
  if (i >= n || b[i] !== QUOTE) return -1;
  i = skipString(b, i, n);
  if (i < 0) return -1;
  i = skipSpace(b, i, n);
  if (i >= n || b[i] !== COLON) return -1;
  return skipSpace(b, i + 1, n);
}

/**
 * Index after the JSON value starting at `i`, or -1 (not JSON, or nested deeper than 64). Iterative,
 * so depth costs no stack. Exported for the dialects, which check a frame's value without parsing it.
 */
export function skipValue(b: Uint8Array, i: number, n: number): number {
  let depth = 0;
  for (;;) {
    // A value starts at i.
    if (i >= n) return -1;
    const c = b[i]!;
    if (c === QUOTE) {
      i = skipString(b, i, n);
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      i = skipSpace(b, i + 1, n);
      if (i < n && b[i] === close) {
        i++;
      } else {
        if (depth === MAX_DEPTH) return -1;
        nesting[depth++] = c;
        if (c === OPEN_BRACE) {
          i = skipKey(b, i, n);
          if (i < 0) return -1;
        }
        continue;
      }
    } else if (isDigit(c) || c === MINUS) {
      i = skipNumber(b, i, n);
    } else if (c === 0x74) {
      i = skipWord(b, i, TRUE);
    } else if (c === 0x66) {
      i = skipWord(b, i, FALSE);
    } else if (c === 0x6e) {
      i = skipWord(b, i, NULL);
    } else {
      return -1;
    }
    if (i < 0) return -1;
    // After a value: close containers or move to the next element.
    for (;;) {
      if (depth === 0) return i;
      i = skipSpace(b, i, n);
      if (i >= n) return -1;
      const next = b[i]!;
      const open = nesting[depth - 1];
      if (next === COMMA) {
        i = skipSpace(b, i + 1, n);
        if (open === OPEN_BRACE) {
          i = skipKey(b, i, n);
          if (i < 0) return -1;
        }
        break;
      }
      if ((next === CLOSE_BRACE && open === OPEN_BRACE) || (next === CLOSE_BRACKET && open === OPEN_BRACKET)) {
        depth--;
        i++;
        continue;
      }
      return -1;
    }
  }
}

const TYPE = 1;
const NAME = 2;
const OFFER = 4;
const ANSWER = 8;
const CANDIDATE = 16;

const KEY_TYPE = ascii('type');
const KEY_NAME = ascii('name');
const KEY_OFFER = ascii('offer');
const KEY_ANSWER = ascii('answer');
const KEY_CANDIDATE = ascii('candidate');

/** The top-level key between `start` (after its opening quote) and `end` (its closing quote), as a flag. */
function keyFlag(b: Uint8Array, start: number, end: number): number {
  switch (end - start) {
    case 4:
      return startsWith(b, start, KEY_TYPE) ? TYPE : startsWith(b, start, KEY_NAME) ? NAME : 0;
    case 5:
      return startsWith(b, start, KEY_OFFER) ? OFFER : 0;
    case 6:
      return startsWith(b, start, KEY_ANSWER) ? ANSWER : 0;
    case 9:
      return startsWith(b, start, KEY_CANDIDATE) ? CANDIDATE : 0;
    default:
      return 0;
  }
}

/** The target name of a scanned relay; short ASCII names skip the decoder call. */
export function targetOf(b: Uint8Array, scan: RelayScan): string {
  const start = scan.targetStart;
  const end = scan.targetEnd;
  if (end - start <= 32) {
    let text = '';
    for (let k = start; k < end; k++) {
      const c = b[k]!;
      if (c >= 0x80) return decodeUtf8(b.subarray(start, end));
      text += String.fromCharCode(c);
    }
    return text;
  }
  return decodeUtf8(b.subarray(start, end));
}

/** Whether the target name of a scanned relay is `name`, compared without decoding (ASCII names only). */
export function targetIs(b: Uint8Array, scan: RelayScan, name: string): boolean {
  const start = scan.targetStart;
  if (scan.targetEnd - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) {
    const c = b[start + k]!;
    if (c >= 0x80 || c !== name.charCodeAt(k)) return false;
  }
  return true;
}

const NAME_KEY = ascii(',"name":"');

/**
 * The shape nearly every relay has, the one `JSON.stringify` gives a tutorial client's
 * `{type, <type>: payload, name}` (the outgoing frame's prefix, then the payload, then `name`):
 * matched as a whole, so only the payload is scanned.
 * True when it is that shape, undefined for anything else (the general scan decides).
 */
function scanStandardRelay(b: Uint8Array, n: number, out: RelayScan): true | undefined {
  const c = b[9];
  const type = c === 0x63 ? 'candidate' : c === 0x6f ? 'offer' : c === 0x61 ? 'answer' : undefined;
  if (type === undefined || !startsWith(b, 0, relayPrefixBytes[type])) return undefined;
  const payloadStart = relayPrefixBytes[type].length;
  const payloadEnd = skipValue(b, payloadStart, n);
  if (payloadEnd < 0 || !startsWith(b, payloadEnd, NAME_KEY)) return undefined;
  const nameQuote = payloadEnd + NAME_KEY.length - 1;
  const afterName = skipPlainString(b, nameQuote, n);
  if (afterName !== n - 1 || b[afterName] !== CLOSE_BRACE) return undefined;
  out.type = type;
  out.payloadStart = payloadStart;
  out.payloadEnd = payloadEnd;
  out.targetStart = nameQuote + 1;
  out.targetEnd = afterName - 1;
  return true;
}

/**
 * The relay fast path: in one pass over the UTF-8 bytes of a message, checks that it is
 * strict JSON for an object whose `type` is offer, answer or candidate, whose `name` is a
 * string, and which has the payload field, and finds where the payload's raw JSON lies, so
 * it is forwarded without decoding, JSON.parse or JSON.stringify. Returns false for anything
 * else (invalid JSON, escapes in those keys or values, a key given twice, numbers that JSON
 * would not carry over unchanged…); the caller then takes the JSON.parse path, which answers
 * every case as before. For JSON.stringify's output the forwarded payload is byte for byte
 * what JSON.stringify would give.
 */
export function scanRelay(b: Uint8Array, out: RelayScan): boolean {
  const n = b.length;
  const standard = scanStandardRelay(b, n, out);
  if (standard !== undefined) return standard;
  let i = skipSpace(b, 0, n);
  if (i >= n || b[i] !== OPEN_BRACE) return false;
  i = skipSpace(b, i + 1, n);
  let seen = 0;
  let typeStart = 0;
  let typeEnd = 0;
  let nameStart = 0;
  let nameEnd = 0;
  let offerStart = 0;
  let offerEnd = 0;
  let answerStart = 0;
  let answerEnd = 0;
  let candidateStart = 0;
  let candidateEnd = 0;
  for (;;) {
    if (i >= n || b[i] !== QUOTE) return false;
    const keyStart = i + 1;
    i = skipPlainString(b, i, n);
    if (i < 0) return false;
    const flag = keyFlag(b, keyStart, i - 1);
    if ((seen & flag) !== 0) return false;
    seen |= flag;
    i = skipSpace(b, i, n);
    if (i >= n || b[i] !== COLON) return false;
    const start = skipSpace(b, i + 1, n);
    if (flag === TYPE || flag === NAME) {
      // Their values are compared and used as text: plain strings only.
      if (start >= n || b[start] !== QUOTE) return false;
      i = skipPlainString(b, start, n);
      if (i < 0) return false;
      if (flag === TYPE) {
        typeStart = start + 1;
        typeEnd = i - 1;
      } else {
        nameStart = start + 1;
        nameEnd = i - 1;
      }
    } else {
      i = skipValue(b, start, n);
      if (i < 0) return false;
      if (flag === OFFER) {
        offerStart = start;
        offerEnd = i;
      } else if (flag === ANSWER) {
        answerStart = start;
        answerEnd = i;
      } else if (flag === CANDIDATE) {
        candidateStart = start;
        candidateEnd = i;
      }
    }
    i = skipSpace(b, i, n);
    if (i >= n) return false;
    const c = b[i];
    if (c === CLOSE_BRACE) break;
    if (c !== COMMA) return false;
    i = skipSpace(b, i + 1, n);
  }
  if (skipSpace(b, i + 1, n) !== n || (seen & (TYPE | NAME)) !== (TYPE | NAME)) return false;
  const type = keyFlag(b, typeStart, typeEnd);
  if (type === CANDIDATE && (seen & CANDIDATE) !== 0) {
    out.type = 'candidate';
    out.payloadStart = candidateStart;
    out.payloadEnd = candidateEnd;
  } else if (type === OFFER && (seen & OFFER) !== 0) {
    out.type = 'offer';
    out.payloadStart = offerStart;
    out.payloadEnd = offerEnd;
  } else if (type === ANSWER && (seen & ANSWER) !== 0) {
    out.type = 'answer';
    out.payloadStart = answerStart;
    out.payloadEnd = answerEnd;
  } else {
    return false;
  }
  out.targetStart = nameStart;
  out.targetEnd = nameEnd;
  return true;
}
