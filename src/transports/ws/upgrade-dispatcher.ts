import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SignallingHubError } from '../../core/errors.js';
import { pathnameOf } from '../shared/path.js';
import { type EmittingServer, interceptEvent } from '../shared/server-events.js';

/** The part of `http.Server` the adapter uses. */
export interface UpgradeServer extends EmittingServer {
  on(event: 'upgrade', listener: UpgradeListener): unknown;
  removeListener(event: 'upgrade', listener: UpgradeListener): unknown;
  listeners(event: 'upgrade'): unknown[];
}

export type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** One attached path. */
export interface UpgradeRoute {
  /** Takes an upgrade to the route's path. */
  readonly handle: UpgradeListener;
  /** See `AttachOptions.unhandledUpgradeTimeout`. */
  readonly unhandledUpgradeTimeout: number;
}

/**
 * Every hub attached to one server shares one `upgrade` listener, kept on the
 * server under a registry symbol so that two copies of this library (its ESM
 * and CommonJS builds, two versions in one tree) share it too: a path is
 * served once, and an upgrade no hub serves is answered. Its shape is a
 * contract between copies: change it only with a new key.
 */
interface UpgradeDispatcher {
  readonly routes: Map<string, UpgradeRoute>;
  readonly listener: UpgradeListener;
  /** Stops taking the served paths' upgrades before the listeners. */
  readonly stopIntercepting: () => void;
}

// v2: served paths are taken before every `upgrade` listener (v1 shared the listener only).
const DISPATCHER = Symbol.for('signalling-hub.ws.upgrade-dispatcher.v2');

type WithDispatcher = UpgradeServer & { [DISPATCHER]?: UpgradeDispatcher };

function ignore(): void {
  // The socket is being refused; a reset on the way changes nothing.
}

/** Answers an upgrade with an HTTP status and closes the socket once the answer is written. */
export function refuse(socket: Duplex, status: string): void {
  socket.on('error', ignore);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** The grace period for an unserved upgrade: the largest of the routes', 0 (never) if any says 0. */
function graceOf(routes: Map<string, UpgradeRoute>): number {
  let grace = 0;
  for (const route of routes.values()) {
    if (route.unhandledUpgradeTimeout === 0) return 0;
    grace = Math.max(grace, route.unhandledUpgradeTimeout);
  }
  return grace;
}

function unserved(server: UpgradeServer, dispatcher: UpgradeDispatcher, socket: Duplex): void {
  const others = server.listeners('upgrade').some((listener) => listener !== dispatcher.listener);
  if (!others) return refuse(socket, '404 Not Found');
  const grace = graceOf(dispatcher.routes);
  if (grace === 0) return;
  const timer = setTimeout(() => {
    // Untouched by every other listener: nobody will answer it.
    if (!socket.destroyed && (socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) refuse(socket, '404 Not Found');
  }, grace);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Serves `path` on `server` with `route`. Throws `SH_ERR_ALREADY_ATTACHED`
 * if a hub serves that path already. Returns the function that stops serving
 * it (and removes the shared listener with the last path).
 */
export function addRoute(server: UpgradeServer, path: string, route: UpgradeRoute): () => void {
  const host = server as WithDispatcher;
  let dispatcher = host[DISPATCHER];
  if (dispatcher === undefined) {
    const routes = new Map<string, UpgradeRoute>();
    // Node emits `upgrade` only to a server with a listener. Served paths never reach it (see below):
    // it answers the upgrades nobody serves, unless another listener does.
    const listener: UpgradeListener = (request, socket, head) => {
      const found = routes.get(pathnameOf(request.url));
      if (found !== undefined) found.handle(request, socket, head);
      else unserved(server, created, socket);
    };
    // A served path's upgrade is taken before any listener sees it: another listener (ws's
    // `new WebSocketServer({ server, path })` answers 400 to every path but its own) would
    // otherwise write to the same socket, in whichever order the two were added.
    const stopIntercepting = interceptEvent(server, 'upgrade', (args) => {
      const request = args[0] as IncomingMessage;
      const found = routes.get(pathnameOf(request.url));
      if (found === undefined) return false;
      found.handle(request, args[1] as Duplex, args[2] as Buffer);
      return true;
    });
    const created: UpgradeDispatcher = { routes, listener, stopIntercepting };
    dispatcher = created;
    Object.defineProperty(host, DISPATCHER, { value: created, configurable: true, enumerable: false, writable: false });
    server.on('upgrade', listener);
  }
  const { routes, listener, stopIntercepting } = dispatcher;
  if (routes.has(path)) {
    throw new SignallingHubError(
      'SH_ERR_ALREADY_ATTACHED',
      `A hub is already attached to this server on path ${JSON.stringify(path)}: close that attachment first, or attach on another path`,
    );
  }
  routes.set(path, route);
  return () => {
    if (routes.get(path) !== route) return;
    routes.delete(path);
    if (routes.size > 0) return;
    server.removeListener('upgrade', listener);
    stopIntercepting();
    delete host[DISPATCHER];
  };
}
