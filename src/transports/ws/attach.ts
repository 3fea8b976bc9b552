import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { SignallingHub } from '../../core/hub.js';
import { InvalidOptionError } from '../../core/errors.js';
import { CloseCode } from '../../protocol/close-codes.js';
import { readFramesFast } from './frame-reader.js';
import { startHeartbeat } from './heartbeat.js';
import { pathnameOf } from './pathname.js';
import { WsTransport } from './ws-transport.js';

/** Options of {@link attach}. */
export interface AttachOptions {
  /**
   * The URL path this hub answers upgrades on. Upgrades to other paths are
   * left untouched for the host's other listeners.
   * @default '/'
   */
  path?: string;
  /**
   * Browser origins allowed to connect: a list of exact `Origin` values, or a
   * function. Others get `403 Forbidden` before the upgrade. Requests without
   * an `Origin` header (non-browser clients) are always allowed by a list.
   * @default undefined (every origin)
   */
  origins?: readonly string[] | ((origin: string | undefined, request: IncomingMessage) => boolean);
  /**
   * Decides, before the WebSocket handshake, whether an upgrade may proceed
   * (cookies, a token in the query string…). Resolve `false` to answer
   * `401 Unauthorized`; a throw answers `500` and is reported on the hub's
   * `error` event.
   * @default undefined
   */
  verifyUpgrade?: (request: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * Milliseconds between WebSocket pings; a socket that has not answered the
   * previous ping is terminated. `0` disables the heartbeat.
   * @default 30000
   */
  heartbeatInterval?: number;
  /**
   * Largest frame accepted, in bytes; larger frames close the socket with 1009.
   * @default the hub's `maxMessageBytes`
   */
  maxPayload?: number;
  /**
   * Milliseconds `close()` waits for clients to answer the 1001 close before
   * it terminates them.
   * @default 2000
   */
  closeTimeout?: number;
}

/** A hub attached to a server path, as returned by {@link attach}. */
export interface Attachment {
  /** The path it answers. */
  readonly path: string;
  /** Open WebSocket connections on this path. */
  readonly connections: number;
  /**
   * Stops taking upgrades on the path, closes its connections with 1001
   * (their peers leave as on any close) and resolves once they are closed.
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
        case 'close':
          transport.session.closed(a as number);
          break;
      }
    }
    // ws reports protocol errors here and then closes the socket; `close` does the rest.
    if (event === 'error') return true;
    return super.emit(event, a, b);
  }
}

const transportOf = (socket: WebSocket) => (socket as HubSocket).transport;

function ignore(): void {
  // A reset socket while verifyUpgrade runs: refuse() or the destroyed check handles it.
}

function refuse(socket: Duplex, status: string): void {
  if (socket.writable) socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

function originAllowed(options: AttachOptions, request: IncomingMessage): boolean {
  const allowed = options.origins;
  if (allowed === undefined) return true;
  const origin = request.headers.origin;
  if (typeof allowed === 'function') return allowed(origin, request);
  return origin === undefined || allowed.includes(origin);
}

/**
 * Serves `hub` over WebSocket on `path` of the host's own `http.Server`
 * (`https`, Express's, Fastify's `server`…). It adds one `upgrade` listener
 * that touches only its own path, so several hubs, the host's own WebSocket
 * endpoints and socket.io can share one server.
 */
export function attach(hub: SignallingHub, server: Server, options: AttachOptions = {}): Attachment {
  const path = options.path ?? '/';
  if (!path.startsWith('/')) throw new InvalidOptionError('path', 'a path starting with "/"', JSON.stringify(path));
  const heartbeatInterval = options.heartbeatInterval ?? 30000;
  const closeTimeout = options.closeTimeout ?? 2000;
  const maxPayload = options.maxPayload ?? hub.options.maxMessageBytes;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload, WebSocket: HubSocket });
  const stopHeartbeat = heartbeatInterval > 0 ? startHeartbeat(wss.clients, transportOf, heartbeatInterval) : () => {};
  let closed = false;

  const accept = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      const transport = new WsTransport(ws, maxPayload);
      transport.session = hub.open(transport, { request, remoteAddress: request.socket.remoteAddress });
      (ws as HubSocket).transport = transport;
      readFramesFast(transport);
    });
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathnameOf(request.url) !== path) return;
    if (closed) return refuse(socket, '503 Service Unavailable');
    if (!originAllowed(options, request)) return refuse(socket, '403 Forbidden');
    const verify = options.verifyUpgrade;
    if (verify === undefined) return accept(request, socket, head);
    // Keep an error listener while the host decides, or a reset socket crashes the process.
    socket.on('error', ignore);
    Promise.resolve()
      .then(() => verify(request))
      .then(
        (ok) => {
          socket.removeListener('error', ignore);
          if (socket.destroyed) return;
          if (ok !== true) return refuse(socket, '401 Unauthorized');
          if (closed) return refuse(socket, '503 Service Unavailable');
          accept(request, socket, head);
        },
        (error: unknown) => {
          socket.removeListener('error', ignore);
          hub.reportError(error);
          refuse(socket, '500 Internal Server Error');
        },
      );
  };
  server.on('upgrade', onUpgrade);

  return {
    path,
    get connections() {
      return wss.clients.size;
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      server.removeListener('upgrade', onUpgrade);
      stopHeartbeat();
      return new Promise<void>((resolve) => {
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
    },
  };
}
