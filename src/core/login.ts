import { CloseCode } from '../protocol/close-codes.js';
import { encodeLoginSuccess } from '../protocol/encode.js';
import { LoginFailure } from '../protocol/error-codes.js';
import { checkName } from '../protocol/names.js';
import { type Connection, ConnectionState } from './connection.js';
import type { SignallingHub } from './hub.js';

/** A fresh resume token. `crypto.randomUUID` exists in Node ≥ 19, Deno, Bun and browsers. */
function newToken(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * The login flow: name rules, the local holder (and a take-over with the
 * resume token), the host's `authenticate`, then the cluster claim. While any
 * of it is pending, the connection holds further messages in order.
 */
export async function login(hub: SignallingHub, connection: Connection, message: Record<string, unknown>): Promise<void> {
  const { options, router } = hub;
  const name = message.name;
  const problem =
    checkName(name, options.maxNameLength) ??
    (options.validateName !== undefined && !options.validateName(name as string) ? 'refused by the name rule' : undefined);
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
  if (hub.closing) {
    connection.refuse(LoginFailure.HubClosing, 'The hub is shutting down');
    return;
  }
  const token = typeof message.token === 'string' ? message.token : undefined;
  const mayReplace = (holder: Connection | undefined) =>
    holder === undefined || (token !== undefined && holder.state === ConnectionState.Joined && holder.token === token);
  if (!mayReplace(router.holder(wanted))) {
    connection.refuse(LoginFailure.NameTaken, `Name is taken: ${wanted}`);
    return;
  }

  connection.state = ConnectionState.LoggingIn;
  const settle = (failure?: LoginFailure, text?: string) => {
    if (connection.state !== ConnectionState.LoggingIn) return;
    if (failure !== undefined) {
      connection.state = ConnectionState.Open;
      connection.refuse(failure, text!);
    }
    connection.drain();
  };

  let data: unknown;
  if (options.authenticate !== undefined) {
    try {
      const verdict = await options.authenticate({
        name: wanted,
        message,
        request: connection.request,
        remoteAddress: connection.remoteAddress,
      });
      if (verdict === false) return settle(LoginFailure.Unauthorized, 'Login refused by the server');
      if (typeof verdict === 'object' && verdict !== null) data = verdict;
    } catch (error) {
      hub.reportError(error);
      return settle(LoginFailure.Unauthorized, 'Login refused by the server');
    }
    if (connection.state !== ConnectionState.LoggingIn) return;
  }

  // Checked again: another login may have taken the name while authenticate ran.
  const holder = router.holder(wanted);
  if (!mayReplace(holder)) return settle(LoginFailure.NameTaken, `Name is taken: ${wanted}`);
  router.reserve(wanted, connection);
  connection.name = wanted;
  // A take-over keeps the holder's claim (this node already holds the name in the cluster).
  const claimId = holder !== undefined ? holder.claimId : newToken();
  connection.claimId = claimId;
  if (holder !== undefined) {
    // Take-over: this node already holds the cluster claim, so it carries over.
    holder.close(CloseCode.Replaced, 'replaced by a new login with the resume token', 'replaced');
  } else if (options.backplane !== undefined) {
    let claim;
    try {
      claim = await options.backplane.claim(wanted, claimId);
    } catch (error) {
      hub.reportError(error);
      claim = 'unavailable' as const;
    }
    if (connection.state !== ConnectionState.LoggingIn) {
      // Closed meanwhile: the claim must not outlive the connection.
      if (claim === 'claimed') options.backplane.release(wanted, claimId);
      return;
    }
    if (claim !== 'claimed') {
      router.release(wanted, connection, false);
      connection.name = undefined as unknown as string;
      return claim === 'taken'
        ? settle(LoginFailure.NameTaken, `Name is taken: ${wanted}`)
        : settle(LoginFailure.BackplaneUnavailable, 'Cannot log in: the cluster backplane is unavailable');
    }
  }

  connection.nameJson = JSON.stringify(wanted);
  connection.relaySuffix = undefined;
  connection.token = newToken();
  connection.data = data;
  connection.request = undefined;
  connection.state = ConnectionState.Joined;
  if (connection.loginTimer !== undefined) {
    clearTimeout(connection.loginTimer);
    connection.loginTimer = undefined;
  }
  connection.send(encodeLoginSuccess(wanted, connection.token));
  hub.joined(connection);
  connection.drain();
}
