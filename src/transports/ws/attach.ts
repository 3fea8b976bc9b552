import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { AdapterPort } from '../../core/adapter-port.js';
import { HookError, HubClosedError, InvalidOptionError, SignallingHubError } from '../../core/errors.js';
import { describeValue } from '../../core/option-check.js';
import { CloseCode } from '../../protocol/close-codes.js';
import { type HttpFallback, serveHttpFallback } from '../http/http-fallback.js';
import { httpFallbackDefaults } from '../http/options.js';
import type { RequestServer } from '../http/request-dispatcher.js';
import { fastPathDisabledByEnv, fastPathSupports, FAST_PATH_WS_VERSIONS, installedWsVersion } from './fast-path.js';
import { canReadFramesFast, readFramesFast } from './frame-reader.js';
import { startHeartbeat } from './heartbeat.js';
import { type AttachOptions, type ResolvedAttachOptions, resolveAttachOptions } from './options.js';
import { addRoute, refuse, type UpgradeServer } from './upgrade-dispatcher.js';
import type { CorkableSocket } from './write-coalescer.js';
import { WsTransport, type WsTransportContext } from './ws-transport.js';

export type { AttachOptions } from './options.js';

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
 * ws's socket class with the hub's handling built in: `ws` calls `emit` for
 * each event, and this one hands them straight to the transport. No listener
 * objects or WeakMap entry per connection (an idle peer costs less memory),
 * no listener lookup per message. Listeners added with `on` still run for
 * the events not handled here (and for `close`).
 */
class HubSocket extends WebSocket {
  transport: WsTransport | undefined = undefined;

  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const transport = this.transport;
    if (transport !== undefined) {
      switch (event) {
        case 'message':
          if (b === true) transport.session.receiveBinary();
          // Text frames arrive as a Buffer (ws's default binaryType) of UTF-8 that ws has validated.
          else transport.session.receive(a as Buffer);
          return true;
        case 'pong':
          transport.alive = true;
          return true;
        case 'error':
          // A framing error: ws closes with its status code next, but its `close` event says 1006.
          transport.closeCode ??= closeCodeOf(a);
          break;
        case 'close':
          transport.session.closed(transport.closeCode ?? (a as number));
          break;
      }
    }
    // ws reports protocol errors here and then closes the socket; `close` does the rest.
    if (event === 'error') return true;
    return super.emit(event, a, b);
  }
}

/** The close code ws sends for each of its documented receiver error codes. */
const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
};

function closeCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined;
  // Every other receiver error is a protocol error (bad bits, opcode, mask, control frame).
  return WS_ERROR_CLOSE_CODES[code] ?? 1002;
}

const transportOf = (socket: WebSocket) => (socket as HubSocket).transport;

function ignore(): void {
  // A reset socket while verifyUpgrade runs: refuse() or the destroyed check handles it.
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

function checkServer(server: unknown, httpFallback: boolean): asserts server is UpgradeServer & RequestServer {
  const methods = httpFallback ? ['on', 'removeListener', 'listeners', 'emit'] : ['on', 'removeListener', 'listeners'];
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

/** Hubs already told that the fast path could not engage: they hear it once. */
const warned = new WeakSet<object>();

function warnOnce(host: AdapterPort, message: string): void {
  if (warned.has(host)) return;
  warned.add(host);
  host.warn(new SignallingHubError('SH_ERR_TRANSPORT', message));
}

/** Whether the fast path may engage for this attachment; warns when the ws version keeps it off. */
function fastPathWanted(host: AdapterPort, options: ResolvedAttachOptions): boolean {
  if (!options.fastPath || fastPathDisabledByEnv()) return false;
  const version = installedWsVersion();
  if (fastPathSupports(version)) return true;
  warnOnce(
    host,
    `ws ${version ?? '(version unknown)'} is outside the versions the ws adapter's fast path was tested with ` +
      `(${FAST_PATH_WS_VERSIONS}): it uses ws's public API only, which is slower`,
  );
  return false;
}

/** ws's private `_socket`, when frames may be written to it directly. */
function rawSocketOf(ws: WebSocket): CorkableSocket | undefined {
  const raw = (ws as unknown as { _socket?: Partial<CorkableSocket> | null })._socket;
  // With permessage-deflate (off here) ws may queue frames while it compresses, so only ws may write then.
  if (raw === undefined || raw === null || ws.extensions !== '') return undefined;
  if (typeof raw.cork !== 'function' || typeof raw.uncork !== 'function' || typeof raw.write !== 'function') return undefined;
  return raw as CorkableSocket;
}

function originAllowed(origins: ResolvedAttachOptions['origins'], request: IncomingMessage): boolean {
  if (origins === undefined) return true;
  const origin = request.headers.origin;
  if (typeof origins === 'function') return origins(origin, request) === true;
  return origin === undefined || origins.includes(origin);
}

/**
 * Serves `hub` over WebSocket on `path` of the host's own `http.Server`
 * (`https`, Express's `app.listen()` result, Fastify's `server`…).
 *
 * All hubs attached to one server share one `upgrade` listener that routes
 * by exact path. Upgrades to other paths are left to the server's other
 * `upgrade` listeners (the host's own WebSocket endpoints, socket.io); when
 * there are none, they are answered `404` (see
 * {@link AttachOptions.unhandledUpgradeTimeout}).
 *
 * On the same path it also serves the HTTP fallback (unless
 * `httpFallback: false`): requests whose query has `transport=http` are
 * taken before the server's `request` listeners see them (its `emit` is
 * wrapped once per server); every other request reaches them unchanged.
 *
 * @throws `InvalidOptionError` for a `hub` that is not a SignallingHub,
 *   a `server` that is not an http.Server, an unknown option or a bad value.
 * @throws `HubClosedError` when the hub is closed.
 * @throws `SignallingHubError` `SH_ERR_ALREADY_ATTACHED` when a hub
 *   already serves this path on this server.
 */
export function attach(hub: { readonly adapterPort: AdapterPort }, server: Server, options?: AttachOptions): Attachment {
  const host = portOf(hub);
  checkServer(server, false);
  const resolved = resolveAttachOptions(options);
  const fallbackOptions = resolved.httpFallback === false ? undefined : (resolved.httpFallback ?? httpFallbackDefaults);
  checkServer(server, fallbackOptions !== undefined);
  if (host.closed) throw new HubClosedError();
  const { path, origins, verifyUpgrade, heartbeatInterval, closeTimeout } = resolved;
  const maxPayload = resolved.maxPayload ?? host.options.maxMessageBytes;
  let fastPath = fastPathWanted(host, resolved);
  const context: WsTransportContext = { maxPayload, reportError: (error) => host.reportError(error) };
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload, WebSocket: HubSocket });
  let closed = false;

  const accept = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      let raw: CorkableSocket | undefined;
      if (fastPath) {
        raw = rawSocketOf(ws);
        if (raw === undefined || !canReadFramesFast(ws)) {
          raw = undefined;
          fastPath = false;
          warnOnce(
            host,
            `ws ${installedWsVersion() ?? ''}: its internals are not as the ws adapter's fast path expects; it uses ws's public API only`,
          );
        }
      }
      const transport = new WsTransport(ws, context, raw);
      transport.session = host.open(transport, { request, remoteAddress: request.socket.remoteAddress });
      ws.transport = transport;
      if (raw !== undefined) readFramesFast(transport);
    });
  };

  const handle = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closed || !host.accepting) return refuse(socket, '503 Service Unavailable');
    let allowed: boolean;
    try {
      allowed = originAllowed(origins, request);
    } catch (error) {
      host.reportError(new HookError('origins', error));
      return refuse(socket, '500 Internal Server Error');
    }
    if (!allowed) return refuse(socket, '403 Forbidden');
    if (verifyUpgrade === undefined) return accept(request, socket, head);
    // Keep an error listener while the host decides, or a reset socket crashes the process.
    socket.on('error', ignore);
    Promise.resolve()
      .then(() => verifyUpgrade(request))
      .then(
        (ok) => {
          socket.removeListener('error', ignore);
          if (socket.destroyed) return;
          if (ok !== true) return refuse(socket, '401 Unauthorized');
          if (closed || !host.accepting) return refuse(socket, '503 Service Unavailable');
          accept(request, socket, head);
        },
        (error: unknown) => {
          socket.removeListener('error', ignore);
          host.reportError(new HookError('verifyUpgrade', error));
          refuse(socket, '500 Internal Server Error');
        },
      );
  };
  const removeRoute = addRoute(server, path, { handle, unhandledUpgradeTimeout: resolved.unhandledUpgradeTimeout });
  let fallback: HttpFallback | undefined;
  try {
    fallback =
      fallbackOptions === undefined
        ? undefined
        : serveHttpFallback(server, {
            host,
            path,
            options: fallbackOptions,
            heartbeatInterval,
            maxPayload,
            closeTimeout,
            originAllowed: (request) => originAllowed(origins, request),
            explicitOrigins: origins !== undefined,
            verifyUpgrade,
          });
  } catch (error) {
    removeRoute();
    throw error;
  }
  const stopHeartbeat = heartbeatInterval > 0 ? startHeartbeat(wss.clients, transportOf, heartbeatInterval) : () => {};

  return {
    path,
    get connections() {
      return wss.clients.size;
    },
    get httpSessions() {
      return fallback?.sessions ?? 0;
    },
    get fastPath() {
      return fastPath;
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      removeRoute();
      stopHeartbeat();
      const sessionsClosed = fallback?.close() ?? Promise.resolve();
      const socketsClosed = new Promise<void>((resolve) => {
        const sockets = [...wss.clients];
        let open = sockets.length;
        const done = () => {
          clearTimeout(timer);
          wss.close(() => resolve());
        };
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.terminate();
        }, closeTimeout);
        if (open === 0) return done();
        for (const socket of sockets) {
          socket.once('close', () => {
            if (--open === 0) done();
          });
          if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
            socket.close(CloseCode.GoingAway, 'server going away');
          }
        }
      });
      return Promise.all([socketsClosed, sessionsClosed]).then(() => undefined);
    },
  };
}
