import { SignallingHubError } from '../core/errors.js';
import type { LoginFailure } from '../protocol/error-codes.js';

/**
 * Why a login failed: a refusal `reason` from the hub, or one of the client's own:
 * `timeout` (no reply within `loginTimeout`), `connection-closed` (the
 * connection closed or could not open first), `login-in-progress` (another
 * `login()` has not settled yet).
 */
export type LoginErrorReason = `${LoginFailure}` | 'timeout' | 'connection-closed' | 'login-in-progress';

/** A login failed. `login()` rejects with it. */
export class LoginError extends SignallingHubError {
  constructor(
    /** Why, machine-readable. */
    readonly reason: LoginErrorReason,
    message: string,
  ) {
    super('SH_ERR_LOGIN', message);
  }
}

/** A relay was sent while the client is not logged in (and not reconnecting). */
export class NotLoggedInError extends SignallingHubError {
  constructor() {
    super('SH_ERR_NOT_LOGGED_IN', 'Not logged in: call login() first');
  }
}
