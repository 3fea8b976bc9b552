/**
 * Codes of the errors every layer throws: a bad option or argument, and the
 * unexpected. Each layer declares its own codes next to its errors (the hub
 * in `core/errors.ts`, the client in `client/errors.ts`…); the package root
 * exports their union as `SignallingHubErrorCode`.
 */
export type CommonErrorCode =
  /** An option has a wrong type, value or name. */
  | 'SH_ERR_INVALID_OPTION'
  /** A method was called with an argument of the wrong type or value (a JavaScript caller). */
  | 'SH_ERR_INVALID_ARGUMENT'
  /** Something failed that the library did not expect. */
  | 'SH_ERR_INTERNAL';

/**
 * Base class of every error the library throws or emits; `code` says which.
 * Each subclass narrows `Code` to its own code.
 */
export class SignallingHubError<Code extends string = string> extends Error {
  constructor(
    /** Stable, machine-readable (`SH_ERR_*`): match on it, never on the message (messages may be reworded). */
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option has a value, type or name the component cannot work with. Thrown by constructors and `attach()`. */
export class InvalidOptionError extends SignallingHubError<'SH_ERR_INVALID_OPTION'> {
  constructor(
    /** The option's path, e.g. `rateLimit.burst`. */
    readonly option: string,
    /** What the option takes. */
    readonly expected: string,
    /** What was given, as text (never a secret's value). */
    readonly given: string,
    hint = '',
  ) {
    super('SH_ERR_INVALID_OPTION', `Invalid option ${option}: expected ${expected}, got ${given}${hint}`);
  }
}

/** A method got an argument it cannot work with (JavaScript callers pass anything). */
export class InvalidArgumentError extends SignallingHubError<'SH_ERR_INVALID_ARGUMENT'> {
  constructor(
    /** The parameter's name. */
    readonly argument: string,
    expected: string,
    given: string,
    cause?: unknown,
  ) {
    super(
      'SH_ERR_INVALID_ARGUMENT',
      `Invalid argument ${argument}: expected ${expected}, got ${given}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `error` as a {@link SignallingHubError} for `error` events: errors of the
 * library pass as they are, anything else is wrapped (its original in `cause`).
 */
export function toError(error: unknown): SignallingHubError {
  if (error instanceof SignallingHubError) return error as SignallingHubError;
  return new SignallingHubError('SH_ERR_INTERNAL', messageOf(error), { cause: error });
}
