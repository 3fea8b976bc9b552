import { isWellFormed } from './utf8.js';

/** C0 and C1 control characters, DEL included. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Invisible characters that change how text around them reads: format characters (Cf: bidi
 * overrides and isolates, zero-width space, soft hyphen, BOM, tags…) and the line and paragraph
 * separators (Zl, Zp). A name holding one can make a log line or a contact list show another name.
 * The zero-width non-joiner and joiner (U+200C, U+200D) stay allowed: joined emoji and several
 * scripts (Persian, Indic) need them.
 */
const formatCharacters = /[\p{Cf}\p{Zl}\p{Zp}]/u;
const joiners = /[\u200c\u200d]/g;

/**
 * The built-in name rule: a non-empty string of at most `maxLength` UTF-16 units with no
 * control characters, no format or separator characters (but for U+200C and U+200D) and no
 * lone surrogates. Returns why a name is refused, or `undefined`.
 */
export function checkName(name: unknown, maxLength: number): string | undefined {
  if (typeof name !== 'string') return 'name must be a string';
  if (name.length === 0) return 'name must not be empty';
  if (name.length > maxLength) return `name must be at most ${maxLength} characters`;
  if (controlCharacters.test(name)) return 'name must not contain control characters';
  // UTF-8 (Redis keys, envelopes) would turn a lone surrogate into U+FFFD: two names, one key.
  if (!isWellFormed(name)) return 'name must be well-formed Unicode (no lone surrogates)';
  if (formatCharacters.test(name) && formatCharacters.test(name.replace(joiners, '')))
    return 'name must not contain invisible format or separator characters (bidi controls, U+2028, U+2029…)';
  return undefined;
}

/**
 * Whether anyone could hold `name`: it has no control characters and is well-formed Unicode
 * (what {@link checkName} refuses of every name, whatever the length rule). A target that
 * fails it is nobody's, and it must not reach another node: envelopes between nodes
 * separate their fields with tabs. A loop for short names: it runs for every relay that
 * crosses nodes.
 */
export function couldBeName(name: string): boolean {
  if (name.length > 64) return !controlCharacters.test(name) && isWellFormed(name);
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit < 0x20 || (unit >= 0x7f && unit <= 0x9f)) return false;
  }
  return isWellFormed(name);
}
