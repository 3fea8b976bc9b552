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
  // Names (the usual text here) are short: a loop over their units costs less than a call into the regex engine.
  if (text.length > 64) return !loneSurrogate.test(text);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit > 0xdbff || !isLowSurrogate(text.charCodeAt(i + 1))) return false;
    i++;
  }
  return true;
}

const encoder = new TextEncoder();
/** Units of the longest text {@link utf8Length} measures by encoding it (3 bytes each at most). */
const ENCODED_UNITS = 8192;
/** Where it encodes them; made on first use. */
let scratch: Uint8Array | undefined;

/**
 * UTF-8 length of `text` (a lone surrogate counts as the 3 bytes of U+FFFD,
 * as encoders write it). Texts of up to 8192 units are encoded into a reused
 * buffer: the runtime's encoder is several times faster than a loop over the
 * units, and this runs for every frame a hub sends or receives as a string.
 */
export function utf8Length(text: string): number {
  if (text.length <= ENCODED_UNITS) return encoder.encodeInto(text, (scratch ??= new Uint8Array(3 * ENCODED_UNITS))).written;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    // 2 bytes below U+0800; 3 for the rest of the BMP; a surrogate pair is 4 bytes for its 2 units.
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
