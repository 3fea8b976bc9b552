import { CloseCode } from '../protocol/close-codes.js';
import type { ConnectionHost } from './connection.js';
import type { HubParts } from './hub-parts.js';
import { hookSource } from './ice-servers.js';
import { type LoginHost, login } from './login.js';
import { closeRemote } from './remote-disconnect.js';
import { HubCounters } from './stats.js';

/**
 * The hub's side of its connections' lives (see `connection-host.ts`): logins
 * run, peers joining, dropping, resuming, handed over and leaving update the
 * routes, the rooms and the open connections, and become the hub's events.
 */
export function hubConnectionHost(parts: HubParts): ConnectionHost & LoginHost {
  const { events, options, router, rooms, counters, lifecycle, port, reportError } = parts;
  // Claim ids only need to differ from this process's other claims of a name (Redis stores them with the node id);
  // without a backplane nothing reads them, so an idle peer holds none.
  let claims = 0;
  const { turn, iceServers, iceServersRefreshInterval } = options;
  const host: ConnectionHost & LoginHost = {
    nextClaimId: options.backplane === undefined ? () => '' : () => (++claims).toString(36),
    iceServerSource: turn ?? (iceServers === undefined ? undefined : hookSource(iceServers, iceServersRefreshInterval)),
    options,
    router,
    counters,
    nodeId: options.backplane?.nodeId,
    closing: () => !lifecycle.accepting,
    room: (connection, type, message) => rooms.request(connection, type, message),
    evictRemote: (name, reason) => closeRemote(options.backplane, port.sendToNode, name, reason, true),
    login: (connection, message) => {
      login(host, connection, message).catch((error: unknown) => {
        reportError(error);
        connection.close(CloseCode.InternalError, 'internal error', 'closed');
      });
    },
    joinedChanged: (connection, joined) => lifecycle.joinedChanged(connection, joined),
    joined: (connection) => {
      if (events.listenerCount('peer-joined') > 0) events.emit('peer-joined', connection.peer());
    },
    dropped: (connection, code, expiresAt) => {
      lifecycle.untrack(connection);
      if (events.listenerCount('peer-dropped') > 0) events.emit('peer-dropped', { peer: connection.peer(), code, expiresAt });
      lifecycle.settleDrain();
    },
    handedOver: (connection) => {
      lifecycle.untrack(connection);
      // Still the holder: the name moved to another node (a take-over here has reserved it already).
      if (router.holder(connection.name) === connection) rooms.movedAway(connection.name);
      // Handed to another node: the name is no longer here (its claim moved with it, so nothing is released).
      router.forget(connection.name, connection);
      lifecycle.settleDrain();
    },
    resumed: (connection, previous) => {
      counters.resumes++;
      // Resumed from another node: its partners must know where its `leave` will come from.
      if (previous.node !== options.backplane?.nodeId) {
        router.movedHere(connection);
        if (previous.node !== undefined) rooms.movedHere(connection.name, previous.node);
      }
      if (events.listenerCount('peer-resumed') > 0) events.emit('peer-resumed', { peer: connection.peer(), previous });
    },
    left: (connection, why, code, wasJoined) => {
      lifecycle.untrack(connection);
      const name = connection.name;
      if (name !== undefined) {
        router.release(name, connection, wasJoined);
        if (wasJoined) {
          router.notifyPartners(connection);
          // A take-over with the token ('replaced') keeps the name, and with it the rooms.
          if (why !== 'replaced') rooms.gone(name);
          events.emit('peer-left', { name, reason: why, code, peer: connection.peer() });
        }
      }
      lifecycle.settleDrain();
    },
    protocolError: (connection, code, message) => {
      HubCounters.bump(counters.protocolErrors, code);
      if (events.listenerCount('protocol-error') > 0) {
        events.emit('protocol-error', { id: connection.id, name: connection.name, code, message });
      }
    },
    reportError,
  };
  return host;
}
