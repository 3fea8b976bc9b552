import { encodeIceServers } from '../protocol/encode.js';
import { HookError } from './errors.js';
import type { IceServerSource } from './ice-servers.js';
import type { Peer } from './peer.js';

/** What a connection offers the ICE refresh: one timer field and a way to send while logged in. */
export interface IceRefreshTarget {
  iceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the peer is still logged in on this connection (a refresh for a gone peer is dropped). */
  readonly joined: boolean;
  peer(): Peer;
  send(frame: string): void;
}

/** Where the servers come from, and where a failing source is reported. */
export interface IceRefreshHost {
  readonly iceServerSource: IceServerSource | undefined;
  reportError(error: unknown): void;
}

/**
 * Pushes fresh ICE servers (TURN credentials) to a logged-in peer before the
 * last ones expire, again and again while it stays; a failing source is
 * reported and retried at the next interval.
 */
export function armIceRefresh(target: IceRefreshTarget, host: IceRefreshHost): void {
  const after = host.iceServerSource?.refreshAfter;
  if (after === undefined) return;
  target.iceTimer = setTimeout(() => refresh(target, host), after);
  // A pending refresh must not keep a host process alive.
  (target.iceTimer as { unref?: () => void }).unref?.();
}

function refresh(target: IceRefreshTarget, host: IceRefreshHost): void {
  target.iceTimer = undefined;
  host.iceServerSource!.servers(target.peer()).then(
    (servers) => {
      if (!target.joined) return;
      target.send(encodeIceServers(servers));
      armIceRefresh(target, host);
    },
    (error: unknown) => {
      if (!target.joined) return;
      host.reportError(new HookError('iceServers', error));
      armIceRefresh(target, host);
    },
  );
}

/** Stops a pending refresh. */
export function stopIceRefresh(target: IceRefreshTarget): void {
  if (target.iceTimer !== undefined) clearTimeout(target.iceTimer);
  target.iceTimer = undefined;
}
