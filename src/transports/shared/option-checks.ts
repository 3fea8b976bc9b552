import { InvalidOptionError } from '../../core/errors.js';
import { type Check, describeValue, string } from '../../core/option-check.js';

/** An origin as browsers serialise it: scheme://host[:port] in lower case, or `null` (opaque origins). */
const ORIGIN = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#\s@A-Z]+|null)$/;

/**
 * Checks an adapter's `origins` option: a list of exact origins, or the
 * adapter's own function type `F` (each adapter hands it its request type).
 */
export function originsCheck<F extends (...args: never[]) => boolean>(): Check<readonly string[] | F> {
  const origin = string('an origin as browsers send it: scheme://host[:port], lower case, no path or trailing slash', ORIGIN);
  return (value, option) => {
    if (typeof value === 'function') return value as F;
    if (!Array.isArray(value)) {
      // A lone string would be matched by substring through `includes` by an unwary reader; refuse it.
      throw new InvalidOptionError(
        option,
        'an array of origins (e.g. ["https://app.example"]) or a function',
        describeValue(value),
      );
    }
    return Object.freeze(value.map((entry, index) => origin(entry, `${option}[${index}]`)));
  };
}

/** A request path never holds `?` or `#` (the query is cut off before matching), so such a path would never match. */
export const pathCheck: Check<string> = string(
  'a URL path starting with "/" without "?", "#", spaces or control characters',
  /^\/[^?#\s\p{Cc}]*$/u,
);
