/**
 * Stable, machine-readable codes of {@link SignallingHubError}s. Match on
 * `error.code`, never on the message (messages may be reworded).
 */
export type SignallingHubErrorCode =
  /** An option has a wrong type, value or name. */
  | 'SH_ERR_INVALID_OPTION'
  /** A method was called with an argument of the wrong type or value (a JavaScript caller). */
  | 'SH_ERR_INVALID_ARGUMENT'
  /** The hub was used after `close()`. */
  | 'SH_ERR_HUB_CLOSED'
  /** A second `attach()` for a server and path already served. */
  | 'SH_ERR_ALREADY_ATTACHED'
  /** A host hook (`authenticate`, `verifyUpgrade`, `validateName`, `origins`…) threw or rejected. */
  | 'SH_ERR_HOOK_FAILED'
  /** The cluster backplane failed (connection lost, command failed, state found inconsistent). */
  | 'SH_ERR_BACKPLANE'
  /** Redis is not connected: the command was not sent. */
  | 'SH_ERR_REDIS_OFFLINE'
  /** Redis did not answer a command in time; it may still carry it out. */
  | 'SH_ERR_REDIS_TIMEOUT'
  /** Too many commands or bytes are already in flight to Redis: the command was not sent. */
  | 'SH_ERR_REDIS_BUSY'
  /** An adapter's transport failed (a close that threw, an internal it relies on changed). */
  | 'SH_ERR_TRANSPORT'
  /** A login failed (client). */
  | 'SH_ERR_LOGIN'
  /** The host's `authenticate` refused a login with a message for the client ({@link LoginRefusedError}). */
  | 'SH_ERR_LOGIN_REFUSED'
  /** A relay was sent while the client is not logged in (client). */
  | 'SH_ERR_NOT_LOGGED_IN'
  /** Something failed that the library did not expect. */
  | 'SH_ERR_INTERNAL';

/** Base class of every error the library throws or emits; `code` says which. */
export class SignallingHubError extends Error {
  constructor(
    /** Stable, machine-readable: see {@link SignallingHubErrorCode}. */
    readonly code: SignallingHubErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option has a value, type or name the component cannot work with. Thrown by constructors and `attach()`. */
export class InvalidOptionError extends SignallingHubError {
  constructor(
    /** The option's path, e.g. `rateLimit.burst`. */
    readonly option: string,
    /** What the option takes. */
    readonly expected: string,
    /** What was given, as text. */
    readonly given: string,
    hint = '',
  ) {
    super('SH_ERR_INVALID_OPTION', `Invalid option ${option}: expected ${expected}, got ${given}${hint}`);
  }
}

/** A method got an argument it cannot work with (JavaScript callers pass anything). */
export class InvalidArgumentError extends SignallingHubError {
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

/** The hub was used after `close()`. */
export class HubClosedError extends SignallingHubError {
  constructor() {
    super('SH_ERR_HUB_CLOSED', 'The signalling hub is closed');
  }
}

/** A host hook threw or rejected; `cause` is what it threw. Reported on the hub's `error` event. */
export class HookError extends SignallingHubError {
  constructor(
    /** The hook's name, e.g. `authenticate`. */
    readonly hook: string,
    cause: unknown,
  ) {
    super('SH_ERR_HOOK_FAILED', `The ${hook} hook failed: ${messageOf(cause)}`, { cause });
  }
}

/**
 * Thrown (or rejected with) by the host's `authenticate` to refuse a login
 * with a message of its own: the client gets
 * `{"type":"login","success":false,"reason":"unauthorized","message":<message>}`,
 * the message cut to 256 UTF-8 bytes. Not reported on the hub's `error`
 * event (a refusal is not a failure); any other throw is, and the client
 * reads only "Login refused by the server".
 *
 * @example
 * ```ts
 * authenticate: ({ request }) => {
 *   const user = sessions.get(cookieOf(request));
 *   if (user === undefined) throw new LoginRefusedError('Your session expired: sign in again');
 *   return { name: user.id, data: user };
 * }
 * ```
 */
export class LoginRefusedError extends SignallingHubError {
  constructor(message: string) {
    super('SH_ERR_LOGIN_REFUSED', String(message));
    this.name = 'LoginRefusedError';
  }
}

/** The cluster backplane failed; `cause` holds the underlying error when there is one. */
export class BackplaneError extends SignallingHubError {
  constructor(message: string, cause?: unknown) {
    super('SH_ERR_BACKPLANE', message, cause === undefined ? undefined : { cause });
  }
}

/** A transport failed in a way the hub recovered from (e.g. a close that threw; the socket was destroyed instead). */
export class TransportError extends SignallingHubError {
  constructor(message: string, cause?: unknown) {
    super('SH_ERR_TRANSPORT', message, cause === undefined ? undefined : { cause });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `error` as a {@link SignallingHubError} for `error` events: errors of the
 * library pass as they are, anything else is wrapped (its original in `cause`).
 */
export function toError(error: unknown): SignallingHubError {
  if (error instanceof SignallingHubError) return error;
  return new SignallingHubError('SH_ERR_INTERNAL', messageOf(error), { cause: error });
}
