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

/** Fields of a login message that are the client's own: `loginFields` never replace them. */
const reserved: ReadonlySet<string> = new Set(['type', 'name', 'token', 'resume']);

/** Refusals of an automatic login that may pass on a later attempt. */
const transientFailures: ReadonlySet<string> = new Set([LoginFailure.BackplaneUnavailable, LoginFailure.HubClosing]);

/** A login waiting for its reply: one `login()` asked for, or an automatic one after a reconnection. */
export interface WantedLogin {
  /** `undefined`: the hub assigns the name (`login()` without one). */
  readonly name: string | undefined;
  readonly automatic: boolean;
  /** The `credentials` callback was asked again after a refusal of this login (once per `login()`). */
  reasked?: boolean;
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

  /**
   * The login frame for the wanted login: with the token when it is the name
   * last held, `resume` when asked, and the app's `fields` (never in place of
   * those, nor of `type`).
   */
  loginFrame(name: string | undefined, fields: Readonly<Record<string, unknown>>): string {
    const message: Partial<LoginRequest> & { resume?: true; [field: string]: unknown } = { type: 'login' };
    if (name !== undefined) message.name = name;
    if (this.current !== undefined && this.current.name === name) message.token = this.current.token;
    if (this.resume) message.resume = true;
    for (const key of Object.keys(fields)) if (!reserved.has(key)) message[key] = fields[key];
    return JSON.stringify(message);
  }

  /**
   * Why a successful login reply cannot be the wanted login's (`undefined`:
   * it can). The hub logs in the name asked for: a reply naming another (or
   * none), or without a token, is the hub breaking the protocol — unless no
   * name was asked, or `acceptAssigned` lets the hub choose another.
   */
  mismatch(reply: LoginSuccess, wanted: WantedLogin, acceptAssigned: boolean): string | undefined {
    const name: unknown = reply.name;
    const ours =
      typeof name === 'string' && (name === wanted.name || ((wanted.name === undefined || acceptAssigned) && name !== ''));
    if (ours && typeof reply.token === 'string') return undefined;
    const named = typeof name === 'string' ? JSON.stringify(name) : name === undefined ? 'no name' : 'a non-string name';
    const asked = wanted.name === undefined ? 'an assigned name' : JSON.stringify(wanted.name);
    return `protocol error: the login reply named ${ours ? `${named} without a token` : named}, not ${asked}`;
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
