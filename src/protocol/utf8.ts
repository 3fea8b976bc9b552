const decoder = new TextDecoder();

/** The text of UTF-8 bytes. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether `text` is well-formed UTF-16 (no lone surrogates), i.e. survives a
 * round trip through UTF-8 unchanged. (`String.prototype.isWellFormed`, for
 * runtimes that lack it.)
 */
export function isWellFormed(text: string): boolean {
  return !loneSurrogate.test(text);
}
