import { isWellFormed } from './utf8.js';

/** RFC 6455 §5.5: a close frame's payload is at most 125 bytes, two of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

const utf8 = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `reason` cut to at most 123 UTF-8 bytes on a character boundary, so that
 * any close, whoever asks for it and with whatever text, can be sent.
 * Lone surrogates become U+FFFD (a close frame carries UTF-8).
 */
export function limitCloseReason(reason: string): string {
  return limitUtf8(reason, MAX_CLOSE_REASON_BYTES);
}

/** `text` cut to at most `maxBytes` UTF-8 bytes on a character boundary (lone surrogates become U+FFFD). */
export function limitUtf8(text: string, maxBytes: number): string {
  // Fast path: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length <= Math.floor(maxBytes / 3) && isWellFormed(text)) return text;
  const bytes = utf8.encode(text);
  if (bytes.length <= maxBytes) return decoder.decode(bytes);
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return decoder.decode(bytes.subarray(0, end));
}
