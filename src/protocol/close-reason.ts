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
  // Fast path: 41 UTF-16 units are at most 123 UTF-8 bytes.
  if (reason.length <= 41 && isWellFormed(reason)) return reason;
  const bytes = utf8.encode(reason);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return decoder.decode(bytes);
  let end = MAX_CLOSE_REASON_BYTES;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return decoder.decode(bytes.subarray(0, end));
}
