import { messageOf } from '../common/errors.js';
import { LoginError } from './errors.js';
import type { Credentials, CredentialsSource } from './types.js';

/**
 * The app's `credentials` callback, as the client uses it: asked before each
 * connection and login, and once more after a refusal that other
 * credentials might pass; an answer identical to the refused one means
 * stop. A call the client no longer waits for (it closed, or a newer
 * attempt began) is not heard.
 */
export class CredentialsKeeper {
  /** What the hub is shown now: the answer last used. */
  current: Credentials | undefined;
  /** Asked again after a refusal, different from what was refused: used by the next {@link get} without asking. */
  private fresh: Credentials | undefined;
  private ticket = 0;

  constructor(private readonly source: CredentialsSource | undefined) {}

  /** Whether the app gave a callback. */
  get enabled(): boolean {
    return this.source !== undefined;
  }

  /** Forgets a pending call. */
  cancel(): void {
    this.ticket++;
    this.fresh = undefined;
  }

  /**
   * Credentials for a connection or a login: `then` runs once they are
   * `current` (at once without a callback, or with fresh ones in hand), or
   * `failed` when the callback throws.
   */
  get(attempt: number, then: () => void, failed: (error: LoginError) => void): void {
    const fresh = this.fresh;
    this.fresh = undefined;
    if (this.source === undefined || fresh !== undefined) {
      if (fresh !== undefined) this.current = fresh;
      return then();
    }
    this.call(attempt, undefined, failed, (answer) => {
      this.current = answer;
      then();
    });
  }

  /**
   * The hub refused what `current` showed: asks once more; `retry` when the
   * answer differs (the next {@link get} uses it), `stop` when it is the
   * same or there is no callback.
   */
  reask(attempt: number, refused: LoginError, retry: () => void, stop: () => void, failed: (error: LoginError) => void): void {
    if (this.source === undefined) return stop();
    const before = keyOf(this.current ?? {});
    this.call(attempt, refused, failed, (answer) => {
      if (keyOf(answer) === before) return stop();
      this.fresh = answer;
      retry();
    });
  }

  /** The fields of a login: `base` (`loginFields`) with the current `login` ones on top. */
  loginFields(base: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    const login = this.current?.login;
    return login === undefined ? base : { ...base, ...login };
  }

  private call(
    attempt: number,
    refused: LoginError | undefined,
    failed: (error: LoginError) => void,
    answered: (answer: Credentials) => void,
  ): void {
    const ticket = ++this.ticket;
    const source = this.source!;
    Promise.resolve()
      .then(() => source({ attempt, refused }))
      .then(
        (answer) => {
          if (ticket === this.ticket) answered(typeof answer === 'object' && answer !== null ? answer : {});
        },
        (error: unknown) => {
          if (ticket === this.ticket)
            failed(new LoginError('credentials', `The credentials callback failed: ${messageOf(error)}`));
        },
      );
  }
}

/** `credentials` as text that is the same for the same content, whatever the order of keys. */
function keyOf(credentials: Credentials): string {
  return JSON.stringify(credentials, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
    return sorted;
  });
}
