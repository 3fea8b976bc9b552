import type { RelayType } from './messages.js';

/** Where a relay's parts lie in the text it arrived as; filled by {@link scanRelay}. */
export interface RelayScan {
  type: Exclude<RelayType, 'leave'>;
  /** The target's name (the `name` field). */
  target: string;
  /** The payload field's value as raw JSON text: `text.slice(payloadStart, payloadEnd)`. */
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

function skipSpace(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

const isHex = (c: number) => (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Characters a JSON string may hold as they are, minus surrogates. */
const plainRun = /[^"\\\u0000-\u001f\ud800-\udfff]*/y;

/** NaN (past the end) is not plain either. */
const isPlain = (c: number) => c >= 0x20 && c !== QUOTE && c !== BACKSLASH && (c < 0xd800 || c > 0xdfff);

/** Set by skipString: the string held an escape (so its raw text is not its value). */
let escaped = false;

/**
 * Index after the JSON string starting at `i`, or -1. Lone or paired surrogates give -1 too:
 * JSON.stringify would escape lone ones, so only the JSON.parse path may forward them.
 */
function skipString(s: string, i: number): number {
  escaped = false;
  for (i++; ; i++) {
    let c = s.charCodeAt(i);
    let run = 0;
    while (isPlain(c) && run < 16) {
      c = s.charCodeAt(++i);
      run++;
    }
    if (run === 16) {
      // A long string: the regex engine runs over plain characters faster than this loop.
      plainRun.lastIndex = i;
      plainRun.test(s);
      i = plainRun.lastIndex;
      c = s.charCodeAt(i);
    }
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH) return -1; // end of text, a control character or a surrogate
    escaped = true;
    const e = s.charCodeAt(++i);
    if (e === 0x75) {
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2)) || !isHex(s.charCodeAt(i + 3)) || !isHex(s.charCodeAt(i + 4))) return -1;
      i += 4;
    } else if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
      return -1;
    }
  }
}

/**
 * Index after the JSON number starting at `i`, or -1. Only numbers that JSON.parse and
 * JSON.stringify carry over unchanged in value are taken: no exponent, at most 15 digits, no -0.
 */
function skipNumber(s: string, i: number): number {
  const negative = s.charCodeAt(i) === MINUS;
  if (negative) i++;
  let digits = 0;
  let nonZero = false;
  let c = s.charCodeAt(i);
  if (c === ZERO) {
    digits++;
    c = s.charCodeAt(++i);
  } else if (c > ZERO && c <= NINE) {
    nonZero = true;
    while (c >= ZERO && c <= NINE) {
      digits++;
      c = s.charCodeAt(++i);
    }
  } else {
    return -1;
  }
  if (c === DOT) {
    c = s.charCodeAt(++i);
    if (!(c >= ZERO && c <= NINE)) return -1;
    while (c >= ZERO && c <= NINE) {
      digits++;
      if (c !== ZERO) nonZero = true;
      c = s.charCodeAt(++i);
    }
  }
  if (c === 0x65 || c === 0x45 || digits > 15 || (negative && !nonZero)) return -1;
  return i;
}

/** Index after the JSON value starting at `i`, or -1. Iterative, so depth costs no stack. */
function skipValue(s: string, i: number): number {
  let depth = 0;
  for (;;) {
    // A value starts at i.
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(s, i);
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      i = skipSpace(s, i + 1);
      if (s.charCodeAt(i) === close) {
        i++;
      } else {
        if (depth === MAX_DEPTH) return -1;
        nesting[depth++] = c;
        if (c === OPEN_BRACE) {
          i = skipKey(s, i);
          if (i < 0) return -1;
        }
        continue;
      }
    } else if ((c >= ZERO && c <= NINE) || c === MINUS) {
      i = skipNumber(s, i);
    } else if (s.startsWith('true', i) || s.startsWith('null', i)) {
      i += 4;
    } else if (s.startsWith('false', i)) {
      i += 5;
    } else {
      return -1;
    }
    if (i < 0) return -1;
    // After a value: close containers or move to the next element.
    for (;;) {
      if (depth === 0) return i;
      i = skipSpace(s, i);
      const next = s.charCodeAt(i);
      const open = nesting[depth - 1];
      if (next === COMMA) {
        i = skipSpace(s, i + 1);
        if (open === OPEN_BRACE) {
          i = skipKey(s, i);
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

/** Skips `"key" :` and the space after it; returns where the value starts, or -1. */
function skipKey(s: string, i: number): number {
  if (s.charCodeAt(i) !== QUOTE) return -1;
  i = skipSpace(s, skipString(s, i));
  if (i < 0 || s.charCodeAt(i) !== COLON) return -1;
  return skipSpace(s, i + 1);
}

const TYPE = 1;
const NAME = 2;
const OFFER = 4;
const ANSWER = 8;
const CANDIDATE = 16;

/** The top-level key between `start` (after its opening quote) and `end` (its closing quote), as a flag. */
function keyFlag(s: string, start: number, end: number): number {
  switch (end - start) {
    case 4:
      return s.startsWith('type', start) ? TYPE : s.startsWith('name', start) ? NAME : 0;
    case 5:
      return s.startsWith('offer', start) ? OFFER : 0;
    case 6:
      return s.startsWith('answer', start) ? ANSWER : 0;
    case 9:
      return s.startsWith('candidate', start) ? CANDIDATE : 0;
    default:
      return 0;
  }
}

/**
 * The relay fast path: in one pass, checks that `text` is strict JSON for an object whose
 * `type` is offer, answer or candidate, whose `name` is a string, and which has the payload
 * field, and finds the payload's raw text, so it is forwarded without JSON.parse and
 * JSON.stringify. Returns false for anything else (invalid JSON, escapes in those keys or
 * values, a key given twice, numbers that JSON would not carry over unchanged…); the caller
 * then takes the JSON.parse path, which answers every case as before. For text written by
 * JSON.stringify the forwarded payload is byte for byte what JSON.stringify would give.
 */
export function scanRelay(s: string, out: RelayScan): boolean {
  let i = skipSpace(s, 0);
  if (s.charCodeAt(i) !== OPEN_BRACE) return false;
  i = skipSpace(s, i + 1);
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
  if (s.charCodeAt(i) === CLOSE_BRACE) return false;
  for (;;) {
    if (s.charCodeAt(i) !== QUOTE) return false;
    const keyStart = i + 1;
    i = skipString(s, i);
    if (i < 0 || escaped) return false;
    const flag = keyFlag(s, keyStart, i - 1);
    if ((seen & flag) !== 0) return false;
    seen |= flag;
    i = skipSpace(s, i);
    if (s.charCodeAt(i) !== COLON) return false;
    const start = skipSpace(s, i + 1);
    i = skipValue(s, start);
    if (i < 0) return false;
    switch (flag) {
      case TYPE:
      case NAME:
        // Their values are compared and used as text: plain strings only.
        if (s.charCodeAt(start) !== QUOTE || escaped) return false;
        if (flag === TYPE) {
          typeStart = start + 1;
          typeEnd = i - 1;
        } else {
          nameStart = start + 1;
          nameEnd = i - 1;
        }
        break;
      case OFFER:
        offerStart = start;
        offerEnd = i;
        break;
      case ANSWER:
        answerStart = start;
        answerEnd = i;
        break;
      case CANDIDATE:
        candidateStart = start;
        candidateEnd = i;
        break;
    }
    i = skipSpace(s, i);
    const c = s.charCodeAt(i);
    if (c === CLOSE_BRACE) break;
    if (c !== COMMA) return false;
    i = skipSpace(s, i + 1);
  }
  if (skipSpace(s, i + 1) !== s.length || (seen & (TYPE | NAME)) !== (TYPE | NAME)) return false;
  const type = keyFlag(s, typeStart, typeEnd);
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
  out.target = s.slice(nameStart, nameEnd);
  return true;
}
