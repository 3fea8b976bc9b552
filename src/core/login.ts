import { CloseCode } from '../protocol/close-codes.js';
import { encodeLoginSuccess } from '../protocol/encode.js';
import { LoginFailure } from '../protocol/error-codes.js';
import { checkName } from '../protocol/names.js';
import type { Connection } from './connection.js';
import { ConnectionState } from './connection-state.js';
import { HookError } from './errors.js';
import type { IceServerSource } from './ice-servers.js';
import type { ClaimResult, ResumeGrant } from './backplane.js';
import type { IceServer } from '../protocol/messages.js';
import type { ResolvedHubOptions } from './options.js';
import type { Router } from './router.js';

/** A fresh unguessable id (resume tokens, claim ids). `crypto.randomUUID` exists in Node ≥ 19, Deno, Bun and browsers. */
export function newToken(): string {
  return globalThis.crypto.randomUUID();
}

/** What the login flow needs from the hub. */
export interface LoginHost {
  readonly options: ResolvedHubOptions;
  readonly router: Router;
  /** Whether logins are refused (the hub is closing or draining). */
  closing(): boolean;
  /** A claim id unique in this process (cheaper to keep per peer than a UUID). */
  nextClaimId(): string;
  /** Where peers' ICE servers come from, when the hub hands them out. */
  readonly iceServerSource: IceServerSource | undefined;
  reportError(error: unknown): void;
}

/**
 * The login flow: name rules, the local holder (and a take-over with the
 * resume token), the host's `authenticate`, then the cluster claim. While any
 * of it is pending, the connection holds further messages in order.
 */
export async function login(hub: LoginHost, connection: Connection, message: Record<string, unknown>): Promise<void> {
  const { options, router } = hub;
  const name = message.name;
  let problem = checkName(name, options.maxNameLength);
  if (problem === undefined && options.validateName !== undefined) {
    try {
      if (options.validateName(name as string) === false) problem = 'refused by the name rule';
    } catch (error) {
      hub.reportError(new HookError('validateName', error));
      problem = 'refused by the name rule';
    }
  }
  if (problem !== undefined) {
    connection.refuse(LoginFailure.InvalidName, `Invalid name: ${problem}`);
    return;
  }
  const wanted = name as string;
  if (connection.state === ConnectionState.Joined) {
    if (connection.name === wanted) connection.send(encodeLoginSuccess(wanted, connection.token));
    else connection.refuse(LoginFailure.AlreadyLoggedIn, `Already logged in as ${connection.name}: a connection holds one name`);
    return;
  }
  if (hub.closing()) {
    connection.refuse(LoginFailure.HubClosing, 'The hub is shutting down');
    return;
  }
  const token = typeof message.token === 'string' ? message.token : undefined;
  const resumable = message.resume === true;
  // A token takes over a stale connection, or a dropped one still within its grace.
  const mayReplace = (holder: Connection | undefined) =>
    holder === undefined ||
    (token !== undefined &&
      (holder.state === ConnectionState.Joined || holder.state === ConnectionState.Dropped) &&
      sameToken(holder.token, token));
  if (!mayReplace(router.holder(wanted))) {
    connection.refuse(LoginFailure.NameTaken, `Name is taken: ${wanted}`);
    return;
  }

  connection.beginLogin();
  let data: unknown;
  if (options.authenticate !== undefined) {
    try {
      const verdict = await options.authenticate({
        name: wanted,
        message,
        request: connection.request,
        remoteAddress: connection.remoteAddress,
      });
      if (verdict === false) return connection.refuseLogin(LoginFailure.Unauthorized, 'Login refused by the server');
      if (typeof verdict === 'object' && verdict !== null) data = verdict;
    } catch (error) {
      hub.reportError(new HookError('authenticate', error));
      return connection.refuseLogin(LoginFailure.Unauthorized, 'Login refused by the server');
    }
    if (connection.state !== ConnectionState.LoggingIn) return;
  }
  // Before the claim, so that no claim is held across this wait.
  let iceServers: IceServer[] | undefined;
  if (hub.iceServerSource !== undefined) {
    iceServers = await iceServersFor(hub, hub.iceServerSource, connection, wanted, data);
    if (connection.state !== ConnectionState.LoggingIn) return;
  }

  // Checked again: another login may have taken the name while authenticate ran.
  const holder = router.holder(wanted);
  if (!mayReplace(holder)) return connection.refuseLogin(LoginFailure.NameTaken, `Name is taken: ${wanted}`);
  router.reserve(wanted, connection);
  let grant: ResumeGrant | undefined;
  // A take-over keeps the holder's claim (this node already holds the name in the cluster).
  const claimId = holder !== undefined ? holder.claimId : hub.nextClaimId();
  connection.claiming(wanted, claimId);
  if (holder !== undefined) {
    // A resumable peer's take-over is a resume: its calls and parked relays carry over and nobody hears `leave`.
    if (holder.resumable) holder.handOver(connection);
    else holder.close(CloseCode.Replaced, 'replaced by a new login with the resume token', 'replaced');
  } else if (options.backplane !== undefined) {
    const backplane = options.backplane;
    let claim: ClaimResult;
    try {
      // A resume of a name held on another node: its holder checks the token and hands over.
      const resuming = resumable && token !== undefined && backplane.resume !== undefined;
      if (resuming) connection.beginResume();
      const resumed = resuming ? await backplane.resume!(wanted, token, claimId) : undefined;
      if (resumed?.resumed === true) {
        grant = resumed.grant;
        claim = 'claimed';
      } else if (resumed !== undefined && resumed.reason !== 'not-held') {
        claim = resumed.reason === 'refused' ? 'taken' : 'unavailable';
      } else {
        claim = connection.state === ConnectionState.LoggingIn ? await backplane.claim(wanted, claimId) : 'unavailable';
      }
    } catch (error) {
      hub.reportError(error);
      claim = 'unavailable';
    }
    if (connection.state !== ConnectionState.LoggingIn) {
      // Closed meanwhile: the claim must not outlive the connection (fenced: a later login's claim stays).
      if (claim === 'claimed') backplane.release(wanted, claimId);
      // A peer handed over to a connection that is gone: it is gone for everyone.
      if (grant !== undefined) router.abandonGrant(wanted, grant);
      return;
    }
    if (grant !== undefined) connection.resumeFrom(grant, backplane.nodeId);
    if (claim !== 'claimed') {
      router.release(wanted, connection, false);
      return claim === 'taken'
        ? connection.refuseLogin(LoginFailure.NameTaken, `Name is taken: ${wanted}`)
        : connection.refuseLogin(LoginFailure.BackplaneUnavailable, 'Cannot log in: the cluster backplane is unavailable');
    }
  }
  const fresh = newToken();
  const resumed = token === undefined ? undefined : holder !== undefined || grant !== undefined;
  connection.join(fresh, data, encodeLoginSuccess(wanted, fresh, iceServers, resumed), resumable);
}

/** The peer's ICE servers; a failing source is reported and the login goes on without them. */
async function iceServersFor(
  hub: LoginHost,
  source: IceServerSource,
  connection: Connection,
  name: string,
  data: unknown,
): Promise<IceServer[] | undefined> {
  const peer = {
    id: connection.id,
    name,
    data,
    remoteAddress: connection.remoteAddress,
    node: hub.options.backplane?.nodeId,
    joinedAt: Date.now(),
  };
  try {
    return await source.servers(Object.freeze(peer));
  } catch (error) {
    hub.reportError(new HookError('iceServers', error));
    return undefined;
  }
}

/** Compares two tokens in time that does not depend on where they differ. */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
