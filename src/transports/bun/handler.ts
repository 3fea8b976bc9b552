import { type AdapterPort, CloseCode, type ConnectionInfo, HubClosedError, InvalidOptionError } from '../../index.js';
import { describeValue } from '../../core/option-check.js';
import { AddressCaps } from '../shared/address-caps.js';
import { admit, type AdmissionPolicy } from '../shared/admission.js';
import { proxyCheck } from '../shared/client-address.js';
import { type Closer, closeWithTimeout } from '../shared/close-with-timeout.js';
import { startHeartbeat } from '../shared/heartbeat.js';
import { BunTransport, type BunTransportContext } from './bun-transport.js';
import { SocketList } from './socket-list.js';
import type { BunServer, BunServerWebSocket, BunWebSocketHandler } from './bun-types.js';
import { type BunHandlerOptions, resolveBunHandlerOptions } from './options.js';
import { BunUpgradeRequest } from './upgrade-request.js';

/** A hub served on `Bun.serve`, as returned by {@link createBunHandler}. */
export interface BunHandler {
  /** The path it answers. */
  readonly path: string;
  /**
   * Call it first in the server's `fetch`. A request that is not a WebSocket
   * upgrade to {@link path} gets `undefined` at once: route it as the host
   * would. An upgrade to the path gets a promise: of a refusal (`503` while
   * the hub drains or is closed, `403` for an origin not allowed, `429` over
   * a per-address cap, `401` when `verifyUpgrade` says no, `500` when a hook throws, `400` for a broken
   * handshake), or of `undefined` once the connection is upgraded, which is
   * what Bun expects then. So `signalling.fetch(req, server) ?? otherwise`
   * is the whole routing.
   */
  fetch(request: Request, server: BunServer<BunTransport>): Promise<Response | undefined> | undefined;
  /**
   * The `websocket` option of `Bun.serve`: Bun takes one per server, so the
   * server's WebSockets are this hub's (and the message limit is this
   * handler's `maxPayload`).
   */
  readonly websocket: BunWebSocketHandler<BunTransport>;
  /** Open WebSocket connections. */
  readonly connections: number;
  /**
   * Stops taking upgrades (they are answered `503`), closes the connections
   * with 1001 (their peers leave as on any close), terminates those that
   * have not closed after `closeTimeout`, and resolves once all are closed.
   */
  close(): Promise<void>;
}

/** The hub's adapter port, or InvalidOptionError. Found by shape, so a hub of another copy of the package works too. */
function portOf(hub: unknown): AdapterPort {
  const port = (hub as { adapterPort?: Partial<AdapterPort> } | null | undefined)?.adapterPort;
  if (typeof port?.open !== 'function') throw new InvalidOptionError('hub', 'a SignallingHub', describeValue(hub));
  return port as AdapterPort;
}

/** Where the path of a request URL starts (Bun gives absolute URLs) and where it ends (before `?` or `#`). */
function pathBounds(url: string): [start: number, end: number] {
  const scheme = url.indexOf('://');
  const start = scheme === -1 ? 0 : url.indexOf('/', scheme + 3);
  if (start === -1) return [url.length, url.length];
  let end = url.indexOf('?', start);
  if (end === -1) end = url.length;
  const hash = url.indexOf('#', start);
  return [start, hash !== -1 && hash < end ? hash : end];
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const refusal = (status: number) => new Response(null, { status, statusText: REASONS[status] });

/**
 * The close code the hub hears. Bun reports its own protocol closes as 1006
 * with a reason; the client got the code the `ws` adapter would report:
 * 1009 for an oversized message, 1007 for invalid UTF-8, 1002 otherwise.
 */
/** The resolved `trustProxy` as a check (the option check refused what it could not read). */
function proxyCheckOf(trust: Parameters<typeof proxyCheck>[0]) {
  const check = proxyCheck(trust);
  return 'invalid' in check ? undefined : check;
}

function closeCodeOf(code: number, reason: string): number {
  if (code !== 1006 || reason === '') return code;
  if (reason === 'Received too big message') return CloseCode.MessageTooBig;
  return reason === 'Received invalid UTF-8' ? 1007 : 1002;
}

/**
 * Serves `hub` over WebSocket on `Bun.serve`, on `path`, with the `ws`
 * adapter's behaviour: the same admission answers, heartbeat, limits and
 * close codes. Built on the hub's public {@link AdapterPort} only. No HTTP
 * fallback on Bun (yet): its clients need `attach()` on Node.
 *
 * @example
 * ```ts
 * import { SignallingHub } from 'signalling-hub';
 * import { createBunHandler } from 'signalling-hub/bun';
 *
 * const hub = new SignallingHub();
 * const signalling = createBunHandler(hub, { path: '/signalling' });
 * Bun.serve({
 *   port: 9090,
 *   fetch: (req, server) => signalling.fetch(req, server) ?? new Response('not found', { status: 404 }),
 *   websocket: signalling.websocket,
 * });
 * ```
 * @throws `InvalidOptionError` for a `hub` that is not a SignallingHub, an
 *   unknown option or a bad value.
 * @throws `HubClosedError` when the hub is closed.
 */
export function createBunHandler(hub: { readonly adapterPort: AdapterPort }, options?: BunHandlerOptions): BunHandler {
  const port = portOf(hub);
  const { path, origins, verifyUpgrade, heartbeatInterval, closeTimeout, trustProxy, ...resolved } =
    resolveBunHandlerOptions(options);
  if (port.closed) throw new HubClosedError();
  const maxPayload = resolved.maxPayload ?? port.options.maxMessageBytes;
  const context: BunTransportContext = { port };
  const sockets = new SocketList<BunTransport>();
  /**
   * What the hub is told of a connection at `open`, kept from the upgrade until then (weakly: an
   * upgrade that never opens leaves nothing), so that a connection does not carry it in a field.
   */
  const upgrades = new WeakMap<BunTransport, ConnectionInfo>();
  let closed = false;
  /** While `close()` runs: what to call when each connection has closed. */
  let closing: Map<BunTransport, () => void> | undefined;
  const accepting = () => !closed && port.accepting;
  // The shared admission reads the hub's request shape; the host's hooks get Bun's own Request.
  const policy: AdmissionPolicy<BunUpgradeRequest> = {
    origins: typeof origins === 'function' ? (origin, request) => origins(origin, request.source) : origins,
    verifyUpgrade: verifyUpgrade === undefined ? undefined : (request) => verifyUpgrade(request.source),
    trustProxy: trustProxy === undefined ? undefined : proxyCheckOf(trustProxy),
    caps:
      resolved.maxConnectionsPerAddress === 0 && resolved.connectionRate === false
        ? undefined
        : new AddressCaps(resolved.maxConnectionsPerAddress, resolved.connectionRate),
  };

  const websocket: BunWebSocketHandler<BunTransport> = {
    open(ws: BunServerWebSocket<BunTransport>) {
      const transport = ws.data;
      transport.ws = ws;
      sockets.add(transport);
      const info = upgrades.get(transport);
      upgrades.delete(transport);
      transport.session = port.open(transport, info);
    },
    message(ws, message) {
      // Text arrives as a string: the hub scans it as UTF-8 and builds an ASCII relay's frame as a string, which sendText takes as it is.
      if (typeof message === 'string') ws.data.session!.receive(message);
      else ws.data.session!.receiveBinary();
    },
    close(ws, code, reason) {
      const transport = ws.data;
      sockets.delete(transport);
      transport.session?.closed(closeCodeOf(code, reason));
      const done = closing?.get(transport);
      if (done === undefined) return;
      closing!.delete(transport);
      done();
    },
    pong(ws) {
      ws.data.pong();
    },
    maxPayloadLength: maxPayload,
    // Far above what the hub lets queue (it stops relaying past maxBufferedBytes and closes a
    // reader that stays there), so that Bun never drops a frame on its own.
    backpressureLimit: Math.max(2 ** 24, 2 * (port.options.maxBufferedBytes + maxPayload)),
    closeOnBackpressureLimit: false,
    // The heartbeat below does what the `ws` adapter's does; Bun's idle timer would add a second rule.
    idleTimeout: 0,
    sendPings: false,
    perMessageDeflate: false,
    publishToSelf: false,
  };

  // The `ws` README's heartbeat: ping every socket, terminate those that did not answer the previous ping.
  const stopHeartbeat = startHeartbeat(heartbeatInterval, () => {
    for (const transport of sockets) if (!transport.ping()) transport.terminate();
  });

  return {
    path,
    fetch(request, server) {
      const url = request.url;
      const [start, end] = pathBounds(url);
      if (url.slice(start, end) !== path || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return undefined;
      const remoteAddress = server.requestIP?.(request)?.address;
      const upgradeRequest = new BunUpgradeRequest(request, start, remoteAddress);
      return new Promise((resolve) => {
        admit(port, policy, upgradeRequest, accepting, (verdict) => {
          if (verdict !== 200) return resolve(refusal(verdict));
          const transport = new BunTransport(context);
          upgrades.set(transport, { request: upgradeRequest, remoteAddress });
          resolve(server.upgrade(request, { data: transport }) ? undefined : refusal(400));
        });
      });
    },
    websocket,
    get connections() {
      return sockets.size;
    },
    close() {
      if (!closed) {
        closed = true;
        stopHeartbeat();
      }
      const waiting = (closing ??= new Map());
      // Bun reports a connection closed as soon as it has sent the close frame, usually within close().
      const closer: Closer<BunTransport> = {
        close: (transport, done) => {
          waiting.set(transport, done);
          transport.close(CloseCode.GoingAway, 'server going away');
        },
        terminate: (transport) => transport.terminate(),
      };
      return closeWithTimeout(sockets, closer, closeTimeout);
    },
  };
}
