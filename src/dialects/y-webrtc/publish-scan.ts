import { skipValue } from '../../protocol/json-scan.js';

/*
 * A y-webrtc client's publish as the client sends it (`JSON.stringify({ type, topic, data })`),
 * checked in one pass over its bytes, so that the dialect need not parse it: the hub parses the
 * broadcast it becomes anyway (one parse per publish instead of two). Any other shape (more
 * keys, another order, escapes in the topic, whitespace) is left to `JSON.parse`.
 */

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
/** Up to the topic's opening quote included. */
const PUBLISH_PREFIX = ascii('{"type":"publish","topic":"');
const DATA_KEY = ascii(',"data":');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACE = 0x7d;

function matches(b: Uint8Array, at: number, bytes: Uint8Array): boolean {
  if (at + bytes.length > b.length) return false;
  for (let k = 0; k < bytes.length; k++) if (b[at + k] !== bytes[k]) return false;
  return true;
}

/** Where the topic starts in a publish's text (its prefix is ASCII: the same in bytes and UTF-16 units). */
export const TOPIC_START = PUBLISH_PREFIX.length;

/**
 * Whether `b` is exactly `{"type":"publish","topic":"<T>","data":<JSON>}` with a non-empty
 * topic free of escapes and control characters. Then the topic ends at the text's first quote
 * after {@link TOPIC_START}, and the text less its last `}` takes more keys.
 */
export function isPlainPublish(b: Uint8Array): boolean {
  const n = b.length;
  if (n === 0 || b[n - 1] !== CLOSE_BRACE || !matches(b, 0, PUBLISH_PREFIX)) return false;
  let i = TOPIC_START;
  for (; i < n; i++) {
    const c = b[i]!;
    if (c === QUOTE) break;
    if (c === BACKSLASH || c < 0x20) return false;
  }
  if (i === TOPIC_START || i >= n || !matches(b, i + 1, DATA_KEY)) return false;
  return skipValue(b, i + 1 + DATA_KEY.length, n) === n - 1;
}
