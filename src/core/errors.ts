import { messageOf, SignallingHubError } from '../common/errors.js';

export {
  type CommonErrorCode,
  InvalidArgumentError,
  InvalidOptionError,
  messageOf,
  SignallingHubError,
  toError,
} from '../common/errors.js';

/** Codes of the hub's own errors (the common ones are in `common/errors.ts`). */
export type HubErrorCode =
  /** The hub was used after `close()`. */
  | 'SH_ERR_HUB_CLOSED'
  /** A second `attach()` for a server and path already served. */
  | 'SH_ERR_ALREADY_ATTACHED'
  /** A host hook (`authenticate`, `verifyUpgrade`, `validateName`, `origins`…) threw or rejected. */
  | 'SH_ERR_HOOK_FAILED'
  /** The cluster backplane failed (connection lost, command failed, state found inconsistent). */
  | 'SH_ERR_BACKPLANE'
  /** An adapter's transport failed (a close that threw, an internal it relies on changed). */
  | 'SH_ERR_TRANSPORT'
  /** The host's `authenticate` refused a login with a message for the client ({@link LoginRefusedError}). */
  | 'SH_ERR_LOGIN_REFUSED';

/** The hub was used after `close()`. */
export class HubClosedError extends SignallingHubError<'SH_ERR_HUB_CLOSED'> {
  constructor() {
    super('SH_ERR_HUB_CLOSED', 'The signalling hub is closed');
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
export class LoginRefusedError extends SignallingHubError<'SH_ERR_LOGIN_REFUSED'> {
  constructor(message: string) {
    super('SH_ERR_LOGIN_REFUSED', String(message));
  }
}

/** A host hook threw or rejected; `cause` is what it threw. Reported on the hub's `error` event. */
export class HookError extends SignallingHubError<'SH_ERR_HOOK_FAILED'> {
  constructor(
    /** The hook's name, e.g. `authenticate`. */
    readonly hook: string,
    cause: unknown,
  ) {
    super('SH_ERR_HOOK_FAILED', `The ${hook} hook failed: ${messageOf(cause)}`, { cause });
  }
}

/** The cluster backplane failed; `cause` holds the underlying error when there is one. */
export class BackplaneError extends SignallingHubError<'SH_ERR_BACKPLANE'> {
  constructor(message: string, cause?: unknown) {
    super('SH_ERR_BACKPLANE', message, cause === undefined ? undefined : { cause });
  }
}

/** A transport failed in a way the hub recovered from (e.g. a close that threw; the socket was destroyed instead). */
export class TransportError extends SignallingHubError<'SH_ERR_TRANSPORT'> {
  constructor(message: string, cause?: unknown) {
    super('SH_ERR_TRANSPORT', message, cause === undefined ? undefined : { cause });
  }
}
