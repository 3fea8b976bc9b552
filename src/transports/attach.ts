import type { Server } from 'node:http';
import type { AdapterPort } from '../core/adapter-port.js';
import { HubClosedError, InvalidOptionError } from '../core/errors.js';
import { describeValue } from '../core/option-check.js';
import { type AttachOptions, resolveAttachOptions } from './attach-options.js';
import { type HttpFallback, serveHttpFallback } from './http/http-fallback.js';
import { httpFallbackDefaults } from './http/options.js';
import type { RequestServer } from './http/request-dispatcher.js';
import { serveWebSocket } from './ws/serve-websocket.js';
import { AddressCaps } from './shared/address-caps.js';
import { proxyCheck } from './shared/client-address.js';
import type { UpgradeServer } from './ws/upgrade-dispatcher.js';

export type { AttachOptions } from './attach-options.js';

/** A hub attached to a server path, as returned by {@link attach}. */
export interface Attachment {
  /** The path it answers. */
  readonly path: string;
  /** Open WebSocket connections on this path. */
  readonly connections: number;
  /** Open HTTP fallback sessions on this path (0 with `httpFallback: false`). */
  readonly httpSessions: number;
  /**
   * Whether the fast path is engaged (see {@link AttachOptions.fastPath}):
   * `false` when turned off, with a ws version outside the tested range, or
   * once a connection found ws's internals not as expected.
   */
  readonly fastPath: boolean;
  /**
   * Stops taking upgrades on the path (it may be attached again at once),
   * closes its connections and HTTP fallback sessions with 1001 (their peers
   * leave as on any close) and resolves once they are closed.
   */
  close(): Promise<void>;
}

/**
 * The hub's adapter port, or InvalidOptionError. Found by shape, so a hub of
 * another copy of the library (its CommonJS build next to the ESM one) works too.
 */
function portOf(hub: unknown): AdapterPort {
  const port = (hub as { adapterPort?: Partial<AdapterPort> } | null | undefined)?.adapterPort;
  if (typeof port?.open !== 'function') throw new InvalidOptionError('hub', 'a SignallingHub', describeValue(hub));
  return port as AdapterPort;
}

/** Upgrades and the fallback's requests are taken in the server's `emit`, before its listeners. */
const SERVER_METHODS = ['on', 'removeListener', 'listeners', 'emit'];

function checkServer(server: unknown): asserts server is UpgradeServer & RequestServer {
  const methods = SERVER_METHODS;
  if (
    typeof server !== 'object' ||
    server === null ||
    methods.some((method) => typeof (server as Record<string, unknown>)[method] !== 'function')
  ) {
    throw new InvalidOptionError(
      'server',
      `an http.Server (or https, http2…: an object with ${methods.join(', ')})`,
      describeValue(server),
      '; with Express or Koa, pass the server that app.listen() returns (or http.createServer(app)), not the app',
    );
  }
}

/**
 * Serves `hub` over WebSocket on `path` of the host's own `http.Server`
 * (`https`, Express's `app.listen()` result, Fastify's `server`…), and the
 * HTTP fallback on the same path: it composes the two transports, `ws/`
 * and `http/`, each built on the hub's public {@link AdapterPort}.
 *
 * All hubs attached to one server share one `upgrade` listener that routes
 * by exact path. Upgrades to a served path are taken before any other
 * `upgrade` listener sees them, so a `new WebSocketServer({ server, path })`
 * of the host's works beside it, added before or after. Upgrades to other
 * paths are left to the server's other `upgrade` listeners (the host's own
 * WebSocket endpoints, socket.io); when there are none, they are answered
 * `404` (see {@link AttachOptions.unhandledUpgradeTimeout}).
 *
 * On the same path it also serves the HTTP fallback (unless
 * `httpFallback: false`): requests whose query has `transport=http` are
 * taken before the server's `request` listeners see them (its `emit` is
 * wrapped once per server); every other request reaches them unchanged.
 *
 * @param hub A `SignallingHub`, from this copy of the package or another
 *   (its CommonJS build next to the ESM one): it is used through `hub.adapterPort`.
 * @throws `InvalidOptionError` for a `hub` that is not a SignallingHub,
 *   a `server` that is not an http.Server, an unknown option or a bad value.
 * @throws `HubClosedError` when the hub is closed.
 * @throws `SignallingHubError` `SH_ERR_ALREADY_ATTACHED` when a hub
 *   already serves this path on this server.
 */
export function attach<U = unknown>(
  hub: { readonly adapterPort: AdapterPort },
  server: Server,
  options?: AttachOptions<U>,
): Attachment {
  const port = portOf(hub);
  checkServer(server);
  const resolved = resolveAttachOptions(options);
  const fallbackOptions = resolved.httpFallback === false ? undefined : (resolved.httpFallback ?? httpFallbackDefaults);
  if (port.closed) throw new HubClosedError();
  const { path, origins, verifyUpgrade, heartbeatInterval, closeTimeout } = resolved;
  const maxPayload = resolved.maxPayload ?? port.options.maxMessageBytes;
  const { trustProxy, maxConnectionsPerAddress, connectionRate } = resolved;
  const trusted = trustProxy === undefined ? undefined : proxyCheck(trustProxy);
  const policy = {
    origins,
    verifyUpgrade,
    trustProxy: trusted === undefined || 'invalid' in trusted ? undefined : trusted,
    caps:
      maxConnectionsPerAddress === 0 && connectionRate === false
        ? undefined
        : new AddressCaps(maxConnectionsPerAddress, connectionRate),
  };
  const websocket = serveWebSocket(port, server, {
    path,
    policy,
    heartbeatInterval,
    maxPayload,
    closeTimeout,
    unhandledUpgradeTimeout: resolved.unhandledUpgradeTimeout,
    fastPath: resolved.fastPath,
  });
  let fallback: HttpFallback | undefined;
  try {
    fallback =
      fallbackOptions === undefined
        ? undefined
        : serveHttpFallback(port, server, {
            path,
            options: fallbackOptions,
            policy,
            heartbeatInterval,
            maxPayload,
            closeTimeout,
          });
  } catch (error) {
    void websocket.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    path,
    get connections() {
      return websocket.connections;
    },
    get httpSessions() {
      return fallback?.sessions ?? 0;
    },
    get fastPath() {
      return websocket.fastPath;
    },
    close() {
      closing ??= Promise.all([websocket.close(), fallback?.close()]).then(() => undefined);
      return closing;
    },
  };
}
