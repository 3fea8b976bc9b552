import { isWellFormed } from './utf8.js';

/** C0 and C1 control characters, DEL included. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The built-in name rule: a non-empty string of at most `maxLength` UTF-16 units
 * with no control characters and no lone surrogates. Returns why a name is refused, or `undefined`.
 */
export function checkName(name: unknown, maxLength: number): string | undefined {
  if (typeof name !== 'string') return 'name must be a string';
  if (name.length === 0) return 'name must not be empty';
  if (name.length > maxLength) return `name must be at most ${maxLength} characters`;
  if (controlCharacters.test(name)) return 'name must not contain control characters';
  // UTF-8 (Redis keys, envelopes) would turn a lone surrogate into U+FFFD: two names, one key.
  if (!isWellFormed(name)) return 'name must be well-formed Unicode (no lone surrogates)';
  return undefined;
}
