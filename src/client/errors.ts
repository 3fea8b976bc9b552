import { SignallingHubError } from '../common/errors.js';
import type { LoginFailure } from '../protocol/error-codes.js';
import type { HandshakeRefusal } from '../protocol/http-wire.js';

/** Codes of the client's own errors (the common ones are in `common/errors.ts`). */
export type ClientErrorCode =
  /** A login failed. */
  | 'SH_ERR_LOGIN'
  /** A relay was sent while the client is not logged in. */
  | 'SH_ERR_NOT_LOGGED_IN'
  /** A room request was refused or could not be sent. */
  | 'SH_ERR_ROOM';

/**
 * Why a login failed: a refusal `reason` from the hub's login reply; a
 * refused handshake (`unauthorized` 401, `forbidden` 403,
 * `too-many-requests` 429, `unavailable` 503: then `status` is set); or one
 * of the client's own: `timeout` (no reply within `loginTimeout`),
 * `connection-closed` (the connection closed or could not open first),
 * `login-in-progress` (another `login()` has not settled yet), `credentials`
 * (the `credentials` callback threw or rejected).
 */
export type LoginErrorReason =
  `${LoginFailure}` | HandshakeRefusal | 'timeout' | 'connection-closed' | 'login-in-progress' | 'credentials';

/**
 * A login failed. `login()` rejects with it; the `close` event carries it
 * when the client gives up. Its `message` is the host's text when the hub's
 * refusal carried one.
 */
export class LoginError extends SignallingHubError<'SH_ERR_LOGIN'> {
  constructor(
    /** Why, machine-readable. */
    readonly reason: LoginErrorReason,
    message: string,
    /** The HTTP status of a refused handshake (`undefined`: the refusal came in a login reply, or is the client's own). */
    readonly status?: number,
  ) {
    super('SH_ERR_LOGIN', message);
  }
}

/** A relay was sent while the client is not logged in (and not reconnecting). */
export class NotLoggedInError extends SignallingHubError<'SH_ERR_NOT_LOGGED_IN'> {
  constructor() {
    super('SH_ERR_NOT_LOGGED_IN', 'Not logged in: call login() first');
  }
}

/**
 * A `join()` or `part()` failed: `reason` is the hub's refusal (`room-full`,
 * `forbidden`, `invalid-room`, `too-many-rooms`, `backplane-unavailable`), its
 * error code (`not-in-room`), or the client's own `connection-closed` (the
 * connection went before the reply).
 */
export class RoomError extends SignallingHubError<'SH_ERR_ROOM'> {
  constructor(
    /** Why, machine-readable. */
    readonly reason: string,
    /** The room asked for. */
    readonly room: string,
    message: string,
  ) {
    super('SH_ERR_ROOM', message);
  }
}
