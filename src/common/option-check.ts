import { InvalidOptionError } from './errors.js';

/**
 * One options pattern for every component (hub, `attach()`, backplane,
 * client): an exported defaults object, a check per option, unknown keys
 * refused with a suggestion. Options come from JavaScript callers too, so
 * nothing here trusts the declared types.
 */

/** Checks one option's value (never `undefined`: the default applies then) and returns it as the component keeps it. */
export type Check<T> = (value: unknown, option: string) => T;

/**
 * `scheme://user:password@…`. A malformed URL's password may hold anything
 * (`/`, `:`, `@`, spaces), so it is taken to run to the last `@`: better to
 * hide too much than a character of a secret.
 */
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:@/?#\s]*:)[\s\S]*@/i;

/** `text` with the password of a URL in it replaced by `***` (a Redis URL may carry one). */
function redactUrl(text: string): string {
  return text.replace(URL_PASSWORD, '$1***@');
}

/**
 * A value as an error message shows it: short, and never a secret's whole
 * text (a URL's password is replaced by `***`; see {@link describeSecret}
 * for options that are secrets).
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': {
      const text = redactUrl(value);
      return text.length > 40 ? `${JSON.stringify(text.slice(0, 40))}… (${text.length} characters)` : JSON.stringify(text);
    }
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default: {
      const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
      return name !== undefined && name !== 'Object' ? `an instance of ${name}` : 'an object';
    }
  }
}

/** A value given where a secret belongs, as an error message shows it: its kind, never its text. */
export function describeSecret(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : `a string of ${value.length} characters (not shown)`;
  if (typeof value === 'number' || typeof value === 'bigint') return `a ${typeof value} (not shown)`;
  return describeValue(value);
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `unknown`, when one is close enough to be a typo. */
export function suggest(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = name.toLowerCase() === unknown.toLowerCase() ? 0 : distance(unknown, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(unknown.length / 3)) ? best : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Resolves `given` against `defaults` and `checks`: `undefined` (or a missing
 * key) takes the default; anything else must pass its check. Throws
 * {@link InvalidOptionError} for a non-object, an unknown key (with a
 * suggestion) or a bad value. `prefix` names nested options (`rateLimit.`).
 */
export function resolveOptions<T extends object>(
  component: string,
  given: unknown,
  defaults: { readonly [K in keyof T]: T[K] },
  checks: { readonly [K in keyof T]-?: Check<T[K]> },
  prefix = '',
): T {
  if (given === undefined) return { ...defaults };
  if (!isPlainObject(given)) {
    throw new InvalidOptionError(prefix === '' ? `${component} options` : prefix.slice(0, -1), 'an object', describeValue(given));
  }
  const known = Object.keys(checks);
  for (const key of Object.keys(given)) {
    if (Object.prototype.hasOwnProperty.call(checks, key)) continue;
    const close = suggest(key, known);
    throw new InvalidOptionError(
      prefix + key,
      `one of the options of ${component} (${known.join(', ')})`,
      'an unknown option',
      close === undefined ? '' : `; did you mean ${prefix}${close}?`,
    );
  }
  const resolved = { ...defaults } as Record<string, unknown>;
  for (const key of known) {
    const value = given[key];
    if (value !== undefined) resolved[key] = (checks as Record<string, Check<unknown>>)[key]!(value, prefix + key);
  }
  return resolved as T;
}

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(option, expected, describeValue(value));
}

/** A whole number in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Check<number> {
  const expected = max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
  return (value, option) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(option, expected, value);
    return value;
  };
}

/** A finite number in [min, max] (fractions allowed). */
export function number(min: number, max = Number.MAX_VALUE): Check<number> {
  const expected = max === Number.MAX_VALUE ? `a finite number ≥ ${min}` : `a number from ${min} to ${max}`;
  return (value, option) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) fail(option, expected, value);
    return value;
  };
}

/** A positive finite number (fractions allowed): rates. */
export const positiveNumber: Check<number> = (value, option) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(option, 'a positive finite number', value);
  return value;
};

export const boolean: Check<boolean> = (value, option) => {
  if (typeof value !== 'boolean') fail(option, 'true or false', value);
  return value;
};

/** A string; `pattern` and `what` narrow it. */
export function string(what = 'a string', pattern?: RegExp): Check<string> {
  return (value, option) => {
    if (typeof value !== 'string' || (pattern !== undefined && !pattern.test(value))) fail(option, what, value);
    return value;
  };
}

/** A URL (as `new URL()` parses it) with one of `protocols` (e.g. `['redis:', 'rediss:']`); its password is never shown. */
export function url(what: string, protocols: readonly string[]): Check<string> {
  return (value, option) => {
    if (typeof value !== 'string') fail(option, what, value);
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new InvalidOptionError(option, what, `${describeValue(value)} (not a valid URL)`);
    }
    if (!protocols.includes(parsed.protocol.toLowerCase())) fail(option, what, value);
    return value;
  };
}

/** A function (a hook). */
export function func<F>(): Check<F> {
  return (value, option) => {
    if (typeof value !== 'function') fail(option, 'a function', value);
    return value as F;
  };
}

/** One of a few literal values. */
export function oneOf<V extends string | number | boolean>(values: readonly V[]): Check<V> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return (value, option) => {
    if (!values.includes(value as V)) fail(option, expected, value);
    return value as V;
  };
}

/** An array whose every item passes `item`; copied and frozen so later changes by the caller do not leak in. */
export function arrayOf<V>(item: Check<V>, what: string, minLength = 0): Check<readonly V[]> {
  return (value, option) => {
    if (!Array.isArray(value) || value.length < minLength) fail(option, what, value);
    return Object.freeze(value.map((entry, index) => item(entry, `${option}[${index}]`)));
  };
}

/** Either of two checks: `first` when `isFirst(value)`, else `second`. */
export function either<A, B>(isFirst: (value: unknown) => boolean, first: Check<A>, second: Check<B>): Check<A | B> {
  return (value, option) => (isFirst(value) ? first(value, option) : second(value, option));
}

/** A nested options object with its own defaults and checks. */
export function nested<T extends object>(
  component: string,
  defaults: { readonly [K in keyof T]: T[K] },
  checks: { readonly [K in keyof T]-?: Check<T[K]> },
): Check<T> {
  return (value, option) => resolveOptions(component, value, defaults, checks, `${option}.`);
}

/** An object with the given methods (a port such as a backplane, a client, a server). */
export function withMethods<T>(what: string, methods: readonly string[]): Check<T> {
  return (value, option) => {
    if (
      typeof value !== 'object' ||
      value === null ||
      methods.some((method) => typeof (value as Record<string, unknown>)[method] !== 'function')
    ) {
      fail(option, `${what} (an object with ${methods.join(', ')})`, value);
    }
    return value as T;
  };
}
