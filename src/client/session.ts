import { CloseCode } from '../protocol/close-codes.js';
import { LoginFailure } from '../protocol/error-codes.js';
import type { LoginRequest, LoginSuccess } from '../protocol/messages.js';
import type { LoginError } from './errors.js';
import type { LoginEvent } from './types.js';

/**
 * Server closes after which reconnecting would fight the server's decision:
 * a kick, a take-over by a newer connection with our token, a rate-limit ban.
 */
const finalCloseCodes: ReadonlySet<number> = new Set([CloseCode.Forbidden, CloseCode.Replaced, CloseCode.TooManyMessages]);

/** Refusals of an automatic login that may pass on a later attempt. */
const transientFailures: ReadonlySet<string> = new Set([LoginFailure.BackplaneUnavailable, LoginFailure.HubClosing]);

/** A login waiting for its reply: one `login()` asked for, or an automatic one after a reconnection. */
export interface WantedLogin {
  readonly name: string;
  readonly automatic: boolean;
  readonly resolve?: (event: LoginEvent) => void;
  readonly reject?: (error: LoginError) => void;
}

/**
 * The client's login and resume state: the login waiting for its reply (and
 * its deadline), the name and resume token of the last successful one, and
 * whether a lost connection is to be restored.
 */
export class Session {
  /** The name and resume token of the last successful login. */
  current: { readonly name: string; readonly token: string } | undefined;
  /** Whether a lost connection should be restored (a login succeeded and nothing ended the session since). */
  stayOnline = false;
  wanted: WantedLogin | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly resume: boolean) {}

  /** (Re)arms the deadline of the wanted login. */
  arm(ms: number, timedOut: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(timedOut, ms);
  }

  disarm(): void {
    clearTimeout(this.timer);
  }

  /** The login frame for the wanted login: with the token when it is the name last held, and `resume` when asked. */
  loginFrame(name: string): string {
    const message: LoginRequest & { resume?: true } = { type: 'login', name };
    if (this.current !== undefined && this.current.name === name) message.token = this.current.token;
    if (this.resume) message.resume = true;
    return JSON.stringify(message);
  }

  /**
   * Why a successful login reply cannot be the wanted login's (`undefined`:
   * it can). The hub logs in the name asked for: a reply naming another (or
   * none), or without a token, is the hub breaking the protocol.
   */
  mismatch(reply: LoginSuccess, wanted: WantedLogin): string | undefined {
    if (reply.name === wanted.name && typeof reply.token === 'string') return undefined;
    const name: unknown = reply.name;
    const named = typeof name === 'string' ? JSON.stringify(name) : name === undefined ? 'no name' : 'a non-string name';
    return `protocol error: the login reply named ${reply.name === wanted.name ? `${named} without a token` : named}, not ${JSON.stringify(wanted.name)}`;
  }

  /** The wanted login succeeded: the name and token are held, and a lost connection will be restored. */
  accepted(reply: LoginSuccess, wanted: WantedLogin): LoginEvent {
    this.current = { name: reply.name, token: reply.token };
    this.stayOnline = true;
    // A hub that says whether it resumed the session decides; for one that does not, any automatic login is a resume.
    const resumed = (reply as { resumed?: unknown }).resumed;
    return { name: reply.name, resumed: typeof resumed === 'boolean' ? resumed : wanted.automatic };
  }

  /** Takes the wanted login off (its reply came, or it is given up), with its deadline. */
  take(): WantedLogin | undefined {
    const wanted = this.wanted;
    this.wanted = undefined;
    this.disarm();
    return wanted;
  }

  /** Rejects a pending manual login; forgets an automatic one. */
  settle(error: LoginError): void {
    const wanted = this.wanted;
    this.wanted = undefined;
    wanted?.reject?.(error);
  }
}

/** Whether a refusal of an automatic login may pass on a later attempt. */
export function isTransient(reason: string): boolean {
  return transientFailures.has(reason);
}

/** Whether a server's close `code` means not to reconnect (a kick, a take-over, a rate-limit ban). */
export function isFinal(code: number): boolean {
  return finalCloseCodes.has(code);
}
