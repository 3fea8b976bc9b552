/**
 * Skipping JSON in UTF-8 bytes, without decoding or building values: strings
 * (plain content four bytes at a time), numbers that JSON carries over
 * unchanged, literals, and nested values (iteratively, up to a depth). The
 * relay scan (`relay-scan.ts`) is built on it; anything it does not take is
 * left to `JSON.parse`.
 */

export const QUOTE = 0x22;
const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
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

export function skipSpace(b: Uint8Array, i: number, n: number): number {
  while (i < n && SPACE[b[i]!] === 1) i++;
  return i;
}

/** An Int32Array over the whole buffer of the last message scanned (messages of one read share it). */
let wordsBuffer: ArrayBufferLike | undefined;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);
/** The view it was last asked for: a message's long strings ask again, and reading `buffer` is a native call each time. */
let wordsView: Uint8Array | undefined;

/**
 * Says that `view` lies in the buffer that `all` spans from its start, so a scan of it does
 * not ask the view for its buffer (a native call; a reused text buffer's views of different
 * lengths would each make one).
 */
export function noteWords(view: Uint8Array, all: Int32Array<ArrayBufferLike>): void {
  wordsView = view;
  words = all;
  // Unknown: a later view of another buffer gets its own words, even one that shares `all`'s.
  wordsBuffer = undefined;
}

function wordsOf(b: Uint8Array): Int32Array<ArrayBufferLike> {
  if (b === wordsView) return words;
  wordsView = b;
  if (b.buffer !== wordsBuffer) {
    wordsBuffer = b.buffer;
    words = new Int32Array(b.buffer, 0, b.buffer.byteLength >> 2);
  }
  return words;
}

/**
 * Whether none of the 4 bytes in `x` is a quote, a backslash or a control character (SWAR:
 * a byte's high bit is set in `v - 0x01` only where `v` is zero, or where `v` has it already).
 * The three tests share one `& ~x`: `x ^ 0x22` and `x ^ 0x5c` have the high bit of `x`.
 */
function plainWord(x: number): boolean {
  const quote = ((x ^ 0x22222222) - 0x01010101) | 0;
  const backslash = ((x ^ 0x5c5c5c5c) - 0x01010101) | 0;
  const control = (x - 0x20202020) | 0;
  return ((quote | backslash | control) & ~x & 0x80808080) === 0;
}

/**
 * Index after the JSON string whose content is being read at `i` (the content before `i`
 * already checked), or -1. Bytes from 0x80 up are taken as they are: the transport hands
 * over valid UTF-8 (WebSocket requires it of text). Plain content is skipped four aligned
 * bytes at a time after a run of 16. Callers read short strings with a byte loop of their own
 * and call this where it stops (an escape, a control character, or a long run), `run` bytes in.
 */
function skipStringRest(b: Uint8Array, i: number, n: number, run: number): number {
  for (;;) {
    while (i < n && STOP[b[i]!] === 0) {
      i++;
      // A long run: go on a word at a time.
      if (++run >= 16) {
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
    run = 0;
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
export function skipPlainString(b: Uint8Array, i: number, n: number): number {
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

export const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** Whether the bytes of `b` at `at` are `bytes`. */
export function startsWith(b: Uint8Array, at: number, bytes: Uint8Array): boolean {
  if (at + bytes.length > b.length) return false;
  for (let k = 0; k < bytes.length; k++) if (b[at + k] !== bytes[k]) return false;
  return true;
}

/** `bytes`' whole 4-byte words, in the platform's byte order, for {@link startsWithWords}. */
export function wordsOfBytes(bytes: Uint8Array): Int32Array {
  const whole = new Uint8Array(bytes.length & ~3);
  whole.set(bytes.subarray(0, whole.length));
  return new Int32Array(whole.buffer);
}

/**
 * Whether the message `b` begins with `bytes`, whose words are `expected` ({@link wordsOfBytes}).
 * A message that starts on a 4-byte boundary of its buffer (text always does: it is encoded into
 * a buffer of its own) is compared a word at a time.
 */
export function startsWithWords(b: Uint8Array, bytes: Uint8Array, expected: Int32Array): boolean {
  const base = b.byteOffset;
  const length = bytes.length;
  if ((base & 3) !== 0 || b.length < length) return startsWith(b, 0, bytes);
  const all = wordsOf(b);
  const at = base >> 2;
  const count = expected.length;
  for (let k = 0; k < count; k++) if (all[at + k] !== expected[k]) return false;
  for (let k = count << 2; k < length; k++) if (b[k] !== bytes[k]) return false;
  return true;
}

/** `i` plus the length of `word` if the bytes at `i` spell it, else -1. */
const skipWord = (b: Uint8Array, i: number, word: Uint8Array) => (startsWith(b, i, word) ? i + word.length : -1);

const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');

/**
 * Skips `"key" :` and the space after it; returns where the value starts, or -1. Space is
 * looked for only where a byte up to 0x20 stands (anything else there is no space).
 */
function skipKey(b: Uint8Array, i: number, n: number): number {
  if (i >= n || b[i] !== QUOTE) return -1;
  // Keys are short and plain: a byte loop, the general string skip only for an escape.
  let end = i + 1;
  while (end < n && STOP[b[end]!] === 0) end++;
  if (end < n && b[end] === QUOTE) i = end + 1;
  else if ((i = skipStringRest(b, end, n, end - i - 1)) < 0) return -1;
  if (i >= n) return -1;
  if (b[i] !== COLON) {
    i = skipSpace(b, i, n);
    if (i >= n || b[i] !== COLON) return -1;
  }
  i++;
  return i < n && b[i]! <= 0x20 ? skipSpace(b, i, n) : i;
}

/**
 * Index after the JSON value starting at `i`, or -1. Iterative, so depth costs no stack:
 * `open` is the innermost container's opening byte (0 at the top), the outer ones are in `nesting`.
 */
export function skipValue(b: Uint8Array, i: number, n: number): number {
  let depth = 0;
  let open = 0;
  for (;;) {
    // A value starts at i.
    if (i >= n) return -1;
    const c = b[i]!;
    if (c === QUOTE) {
      // Most values are short strings: a byte loop for the first 16 bytes, then a word at a time.
      let end = i + 1;
      const short = end + 16 < n ? end + 16 : n;
      while (end < short && STOP[b[end]!] === 0) end++;
      if (end < n && b[end] === QUOTE) {
        i = end + 1;
      } else {
        i = skipStringRest(b, end, n, end - i - 1);
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      i++;
      if (i < n && b[i]! <= 0x20) i = skipSpace(b, i, n);
      if (i < n && b[i] === (c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET)) {
        i++;
      } else {
        if (depth === MAX_DEPTH) return -1;
        nesting[depth++] = open;
        open = c;
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
      if (i >= n) return -1;
      let next = b[i]!;
      if (next <= 0x20) {
        i = skipSpace(b, i, n);
        if (i >= n) return -1;
        next = b[i]!;
      }
      if (next === COMMA) {
        i++;
        if (open === OPEN_BRACE) {
          if (i < n && b[i]! <= 0x20) i = skipSpace(b, i, n);
          i = skipKey(b, i, n);
          if (i < 0) return -1;
        }
        // A value's own check reads its first byte; space before it is skipped here.
        else if (i < n && b[i]! <= 0x20) i = skipSpace(b, i, n);
        break;
      }
      if ((next === CLOSE_BRACE && open === OPEN_BRACE) || (next === CLOSE_BRACKET && open === OPEN_BRACKET)) {
        open = nesting[--depth]!;
        i++;
        continue;
      }
      return -1;
    }
  }
}
