import { CloseCode } from '../protocol/close-codes.js';
import { encodeLoginSuccess } from '../protocol/encode.js';
import { LoginFailure } from '../protocol/error-codes.js';
import { checkName } from '../protocol/names.js';
import type { Connection } from './connection.js';
import { ConnectionState } from './connection-state.js';
import { HookError, LoginRefusedError } from './errors.js';
import { upgradeOf } from './admitted.js';
import { limitUtf8 } from '../protocol/close-reason.js';
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
  /** Closes the holder of `name` on another node (`duplicateNames: 'replace'`); whether one was closed. */
  evictRemote(name: string, reason: string): Promise<boolean>;
  reportError(error: unknown): void;
}

/** Longest message of a host's refusal that reaches the client, in UTF-8 bytes. */
export const MAX_REFUSAL_BYTES = 256;
const DEFAULT_REFUSAL = 'Login refused by the server';
/** Fresh names drawn per login under `assignNames` (a collision of random UUIDs is all but impossible: a bound all the same). */
const MAX_CANDIDATES = 64;
const REPLACED = 'replaced by a newer login of the same name';

/**
 * The login flow: name rules, the host's `authenticate` (which may name the
 * peer), the local holder (a take-over with the resume token, or the
 * `duplicateNames` policy), then the cluster claim. While any of it is
 * pending, the connection holds further messages in order.
 */
export async function login(hub: LoginHost, connection: Connection, message: Record<string, unknown>): Promise<void> {
  const { options } = hub;
  const asked = message.name;
  // Unnamed logins are for hosts that name peers (assignNames, or an authenticate hook that may).
  const mayBeUnnamed = asked === undefined && (options.assignNames || options.authenticate !== undefined);
  if (!mayBeUnnamed) {
    const problem = nameProblem(hub, asked);
    if (problem !== undefined) return connection.refuse(LoginFailure.InvalidName, `Invalid name: ${problem}`);
  }
  const wanted = asked as string | undefined;
  if (connection.state === ConnectionState.Joined) {
    if (wanted === undefined || connection.name === wanted)
      connection.send(encodeLoginSuccess(connection.name, connection.token));
    else connection.refuse(LoginFailure.AlreadyLoggedIn, `Already logged in as ${connection.name}: a connection holds one name`);
    return;
  }
  if (hub.closing()) return connection.refuse(LoginFailure.HubClosing, 'The hub is shutting down');
  const token = typeof message.token === 'string' ? message.token : undefined;
  // The name asked for is final without a hook: a taken one is refused before anything else runs.
  if (
    wanted !== undefined &&
    options.authenticate === undefined &&
    options.duplicateNames === 'refuse' &&
    !mayReplace(hub.router.holder(wanted), token)
  ) {
    return connection.refuse(LoginFailure.NameTaken, `Name is taken: ${wanted}`);
  }

  connection.beginLogin();
  let name = wanted;
  let data: unknown;
  if (options.authenticate !== undefined) {
    const decided = await authenticate(hub, connection, message, wanted);
    if (decided === undefined || connection.state !== ConnectionState.LoggingIn) return;
    if (decided.name !== undefined) name = decided.name;
    data = decided.data;
  }
  const assigned = name === undefined;
  if (assigned && !options.assignNames) {
    return connection.refuseLogin(LoginFailure.InvalidName, `Invalid name: ${checkName(undefined, options.maxNameLength)}`);
  }
  if (assigned) name = newToken();
  // Before the claim, so that no claim is held across this wait.
  let iceServers: IceServer[] | undefined;
  if (hub.iceServerSource !== undefined) {
    iceServers = await iceServersFor(hub, hub.iceServerSource, connection, name!, data);
    if (connection.state !== ConnectionState.LoggingIn) return;
  }
  await claim(hub, connection, name!, assigned, token, message.resume === true, data, iceServers);
}

/** Why `name` breaks the built-in rule or the host's `validateName`, or `undefined`. */
function nameProblem(hub: LoginHost, name: unknown): string | undefined {
  const { options } = hub;
  const problem = checkName(name, options.maxNameLength);
  if (problem !== undefined || options.validateName === undefined) return problem;
  try {
    return options.validateName(name as string) === false ? 'refused by the name rule' : undefined;
  } catch (error) {
    hub.reportError(new HookError('validateName', error));
    return 'refused by the name rule';
  }
}

/** A token takes over a stale connection, or a dropped one still within its grace. */
function mayReplace(holder: Connection | undefined, token: string | undefined): boolean {
  return (
    holder === undefined ||
    (token !== undefined &&
      (holder.state === ConnectionState.Joined || holder.state === ConnectionState.Dropped) &&
      sameToken(holder.token, token))
  );
}

/**
 * Runs the host's `authenticate`: the name and data it gives, or `undefined`
 * when it refused (the connection was answered).
 */
async function authenticate(
  hub: LoginHost,
  connection: Connection,
  message: Record<string, unknown>,
  wanted: string | undefined,
): Promise<{ name: string | undefined; data: unknown } | undefined> {
  let verdict: unknown;
  try {
    verdict = await hub.options.authenticate!({
      name: wanted ?? '',
      upgrade: upgradeOf(connection.request),
      message,
      request: connection.request,
      remoteAddress: connection.remoteAddress,
    });
  } catch (error) {
    if (error instanceof LoginRefusedError) {
      connection.refuseLogin(LoginFailure.Unauthorized, limitUtf8(error.message, MAX_REFUSAL_BYTES) || DEFAULT_REFUSAL);
    } else {
      hub.reportError(new HookError('authenticate', error));
      connection.refuseLogin(LoginFailure.Unauthorized, DEFAULT_REFUSAL);
    }
    return undefined;
  }
  if (verdict === false) {
    connection.refuseLogin(LoginFailure.Unauthorized, DEFAULT_REFUSAL);
    return undefined;
  }
  if (typeof verdict !== 'object' || verdict === null) return { name: wanted, data: undefined };
  const fields = verdict as { name?: unknown; data?: unknown };
  // An object with neither field is data itself (what authenticate returned before it could name peers).
  if (!('name' in fields) && !('data' in fields)) return { name: wanted, data: verdict };
  if (fields.name === undefined) return { name: wanted, data: fields.data };
  const problem = checkName(fields.name, hub.options.maxNameLength);
  if (problem !== undefined) {
    hub.reportError(new HookError('authenticate', new TypeError(`it named the peer with an invalid name: ${problem}`)));
    connection.refuseLogin(LoginFailure.Unauthorized, DEFAULT_REFUSAL);
    return undefined;
  }
  return { name: fields.name as string, data: fields.data };
}

/**
 * Claims `name` (locally, then in the cluster) and joins. A taken name is
 * settled by a take-over with the resume token, else by the
 * `duplicateNames` policy (an assigned name that collides is drawn again).
 */
async function claim(
  hub: LoginHost,
  connection: Connection,
  first: string,
  assigned: boolean,
  token: string | undefined,
  resumable: boolean,
  data: unknown,
  iceServers: IceServer[] | undefined,
): Promise<void> {
  const { options, router } = hub;
  const policy = assigned ? 'refuse' : options.duplicateNames;
  const perUser = options.maxConnectionsPerUser;
  /** The name to try after `attempt` names were taken: a fresh one, or the next suffix (up to the per-user cap). */
  const nextName = (attempt: number): string | undefined => {
    if (assigned) return attempt < MAX_CANDIDATES ? newToken() : undefined;
    return policy === 'suffix' && attempt < perUser ? suffixed(first, attempt + 1, options.maxNameLength) : undefined;
  };
  const taken = (attempt: number) =>
    policy === 'suffix' && attempt >= perUser
      ? connection.refuseLogin(LoginFailure.NameTaken, `Too many connections for ${first}: at most ${perUser}`)
      : connection.refuseLogin(LoginFailure.NameTaken, `Name is taken: ${first}`);
  let name = first;
  for (let attempt = 1; ; attempt++) {
    let holder = router.holder(name);
    if (!mayReplace(holder, token)) {
      const next = nextName(attempt);
      if (next !== undefined) {
        name = next;
        continue;
      }
      if (policy !== 'replace') return taken(attempt);
      // The newest login wins: the holder goes (its partners hear leave) and the name is claimed afresh.
      holder!.close(CloseCode.Replaced, REPLACED, 'replaced');
      holder = undefined;
      if (connection.state !== ConnectionState.LoggingIn) return;
    }
    router.reserve(name, connection);
    let grant: ResumeGrant | undefined;
    // A take-over keeps the holder's claim (this node already holds the name in the cluster).
    const claimId = holder !== undefined ? holder.claimId : hub.nextClaimId();
    connection.claiming(name, claimId);
    if (holder !== undefined) {
      // A resumable peer's take-over is a resume: its calls and parked relays carry over and nobody hears `leave`.
      if (holder.resumable) holder.handOver(connection);
      else holder.close(CloseCode.Replaced, 'replaced by a new login with the resume token', 'replaced');
    } else if (options.backplane !== undefined) {
      const backplane = options.backplane;
      let result: ClaimResult;
      try {
        // A resume of a name held on another node: its holder checks the token and hands over.
        const resuming = resumable && token !== undefined && backplane.resume !== undefined;
        if (resuming) connection.beginResume();
        const resumed = resuming ? await backplane.resume!(name, token, claimId) : undefined;
        if (resumed?.resumed === true) {
          grant = resumed.grant;
          result = 'claimed';
        } else if (resumed !== undefined && resumed.reason !== 'not-held') {
          result = resumed.reason === 'refused' ? 'taken' : 'unavailable';
        } else {
          result = connection.state === ConnectionState.LoggingIn ? await backplane.claim(name, claimId) : 'unavailable';
        }
      } catch (error) {
        hub.reportError(error);
        result = 'unavailable';
      }
      if (connection.state !== ConnectionState.LoggingIn) {
        // Closed meanwhile: the claim must not outlive the connection (fenced: a later login's claim stays).
        if (result === 'claimed') backplane.release(name, claimId);
        // A peer handed over to a connection that is gone: it is gone for everyone.
        if (grant !== undefined) router.abandonGrant(name, grant);
        return;
      }
      if (grant !== undefined) connection.resumeFrom(grant, backplane.nodeId);
      if (result !== 'claimed') {
        router.release(name, connection, false);
        if (result === 'taken' && !connection.resuming) {
          const next = nextName(attempt);
          if (next !== undefined) {
            name = next;
            continue;
          }
          // Held on another node: that node closes it, then the claim is tried again (a few times: it may come back).
          if (policy === 'replace' && attempt <= 3) {
            await hub.evictRemote(name, REPLACED);
            if (connection.state !== ConnectionState.LoggingIn) return;
            continue;
          }
        }
        return result === 'taken'
          ? taken(attempt)
          : connection.refuseLogin(LoginFailure.BackplaneUnavailable, 'Cannot log in: the cluster backplane is unavailable');
      }
    }
    const fresh = newToken();
    const resumed = token === undefined ? undefined : holder !== undefined || grant !== undefined;
    connection.join(fresh, data, encodeLoginSuccess(name, fresh, iceServers, resumed), resumable);
    return;
  }
}

/** `name#n`, or `undefined` when it would be longer than names may be. */
function suffixed(name: string, n: number, maxLength: number): string | undefined {
  const candidate = `${name}#${n}`;
  return candidate.length <= maxLength ? candidate : undefined;
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
