const decoder = new TextDecoder();

/** The text of UTF-8 bytes. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
