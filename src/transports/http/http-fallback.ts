import type { IncomingMessage } from 'node:http';
import type { AdapterPort } from '../../core/adapter-port.js';
import type { AdmissionPolicy } from '../shared/admission.js';
import { closeWithTimeout } from '../shared/close-with-timeout.js';
import { startHeartbeat } from '../shared/heartbeat.js';
import { startForwarding } from './forwarding.js';
import type { HttpSessionContext } from './http-session.js';
import type { ResolvedHttpFallbackOptions } from './options.js';
import { checkedFrames } from './post-request.js';
import { addRequestRoute, type RequestServer } from './request-dispatcher.js';
import { routes, type RoutingContext } from './routing.js';
import { SessionTable } from './session-table.js';

/** How the fallback of one attachment serves (attach()'s options, resolved). */
export interface HttpFallbackSettings {
  readonly path: string;
  readonly options: ResolvedHttpFallbackOptions;
  readonly policy: AdmissionPolicy<IncomingMessage>;
  /** attach()'s `heartbeatInterval`: comment heartbeats on streams (0: none). */
  readonly heartbeatInterval: number;
  /** attach()'s `maxPayload` (or the hub's `maxMessageBytes`). */
  readonly maxPayload: number;
  /** attach()'s `closeTimeout`: how long `close()` waits for clients to fetch their close event. */
  readonly closeTimeout: number;
}

/** The fallback of one attachment. */
export interface HttpFallback {
  /** Sessions open on this path. */
  readonly sessions: number;
  /** Refuses new sessions, closes the open ones with 1001, and stops serving the path. */
  close(): Promise<void>;
}

/**
 * Serves the HTTP fallback of the hub of `port` on `settings.path` of
 * `server` (see PROTOCOL.md, "HTTP fallback"): requests to the path whose
 * query has `transport=http`. Every other request reaches the host's listeners.
 */
export function serveHttpFallback(port: AdapterPort, server: RequestServer, settings: HttpFallbackSettings): HttpFallback {
  const { options, heartbeatInterval } = settings;
  const maxBodyBytes = options.maxBodyBytes ?? 2 * settings.maxPayload + 4096;
  let closing = false;
  const closeWaiters = new Map<object, () => void>();
  const table = new SessionTable({
    maxSessions: options.maxSessions,
    maxPendingPerConnection: options.maxPendingSessionsPerConnection,
    maxPendingPerAddress: options.maxPendingSessionsPerAddress,
    sessionTimeout: options.sessionTimeout,
  });
  const sessionContext: HttpSessionContext = {
    heartbeatInterval,
    pollTimeout: options.pollTimeout,
    retainBytes: port.options.maxBufferedBytes,
    held: { bytes: 0, max: options.maxHeldBytes },
    framesOf: checkedFrames,
    forget: (session) => {
      table.forget(session);
      closeWaiters.get(session)?.();
    },
    joined: (session) => table.joined(session),
    closeSent: (session) => closeWaiters.get(session)?.(),
  };
  const context: RoutingContext = {
    port,
    policy: settings.policy,
    table,
    sessionContext,
    limits: {
      maxBodyBytes,
      reorderWindow: options.reorderWindow,
      maxHeldBytes: maxBodyBytes * options.reorderWindow,
      maxPendingHeldBytes: settings.maxPayload,
    },
    heartbeatInterval,
    sessionTimeout: options.sessionTimeout,
    pollTimeout: options.pollTimeout,
    accepting: () => !closing && port.accepting,
    forwarding: undefined,
  };
  const { handle, serveSession } = routes(context);
  const forwarding = startForwarding(port, { path: settings.path, maxBodyBytes, pollTimeout: options.pollTimeout }, serveSession);
  context.forwarding = forwarding;
  let removeRoute: () => void;
  try {
    removeRoute = addRequestRoute(server, settings.path, handle);
  } catch (error) {
    forwarding.stop();
    throw error;
  }

  const sweep = setInterval(() => table.sweep(Date.now()), Math.max(25, Math.min(1000, Math.floor(options.sessionTimeout / 4))));
  sweep.unref();
  const stopHeartbeat = startHeartbeat(heartbeatInterval, () => {
    for (const session of table.values()) session.downlink.heartbeat();
  });

  return {
    get sessions() {
      return table.open;
    },
    async close() {
      if (closing) return;
      closing = true;
      // Clients with a reader have their close event at once; the others get closeTimeout to come for it.
      await closeWithTimeout(
        [...table.values()],
        {
          close(session, done) {
            closeWaiters.set(session, done);
            session.closeByAdapter(1001, 'server going away');
            if (session.downlink.closeSent || table.get(session.id) !== session) done();
          },
          terminate(session) {
            closeWaiters.get(session)?.();
          },
        },
        settings.closeTimeout,
      );
      closeWaiters.clear();
      removeRoute();
      forwarding.stop();
      clearInterval(sweep);
      stopHeartbeat();
      for (const session of table.values()) session.endReader();
      table.clear();
    },
  };
}
