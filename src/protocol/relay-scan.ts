import { relayPrefixBytes } from './encode.js';
import type { RelayType } from './messages.js';
import {
  CLOSE_BRACE,
  COLON,
  COMMA,
  OPEN_BRACE,
  QUOTE,
  ascii,
  skipPlainString,
  skipSpace,
  skipValue,
  startsWith,
  startsWithWords,
  wordsOfBytes,
} from './json-scan.js';
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
  /**
   * Whether the message begins with its frame's prefix (`{"type":"<type>","<type>":`, the shape
   * `JSON.stringify` gives), so the frame up to the payload's end is the message's own start.
   * Always set by {@link scanRelay}.
   */
  standard?: boolean;
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
const OFFER_PREFIX = relayPrefixBytes.offer;
const ANSWER_PREFIX = relayPrefixBytes.answer;
const CANDIDATE_PREFIX = relayPrefixBytes.candidate;
const OFFER_WORDS = wordsOfBytes(OFFER_PREFIX);
const ANSWER_WORDS = wordsOfBytes(ANSWER_PREFIX);
const CANDIDATE_WORDS = wordsOfBytes(CANDIDATE_PREFIX);
/** The shortest standard relay: the shortest prefix, a one-byte payload, `,"name":""}`. */
const MIN_STANDARD = OFFER_PREFIX.length + 1 + NAME_KEY.length + 2;

/**
 * The shape nearly every relay has, the one `JSON.stringify` gives a tutorial client's
 * `{type, <type>: payload, name}` (the outgoing frame's prefix, then the payload, then `name`):
 * matched as a whole, so only the payload is scanned.
 * True when it is that shape, undefined for anything else (the general scan decides).
 */
function scanStandardRelay(b: Uint8Array, n: number, out: RelayScan): true | undefined {
  if (n < MIN_STANDARD) return undefined;
  let type: RelayScan['type'];
  let prefix: Uint8Array;
  let words: Int32Array;
  // The type's first letter, where the prefix has it: a switch, not a keyed lookup.
  switch (b[9]) {
    case 0x63:
      type = 'candidate';
      prefix = CANDIDATE_PREFIX;
      words = CANDIDATE_WORDS;
      break;
    case 0x6f:
      type = 'offer';
      prefix = OFFER_PREFIX;
      words = OFFER_WORDS;
      break;
    case 0x61:
      type = 'answer';
      prefix = ANSWER_PREFIX;
      words = ANSWER_WORDS;
      break;
    default:
      return undefined;
  }
  if (!startsWithWords(b, prefix, words)) return undefined;
  const payloadStart = prefix.length;
  const payloadEnd = skipValue(b, payloadStart, n);
  if (payloadEnd < 0 || !startsWith(b, payloadEnd, NAME_KEY)) return undefined;
  const nameQuote = payloadEnd + NAME_KEY.length - 1;
  const afterName = skipPlainString(b, nameQuote, n);
  if (afterName !== n - 1 || b[afterName] !== CLOSE_BRACE) return undefined;
  out.type = type;
  out.standard = true;
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
  out.standard = false;
  out.targetStart = nameStart;
  out.targetEnd = nameEnd;
  return true;
}
