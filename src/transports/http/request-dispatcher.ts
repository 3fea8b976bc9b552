import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignallingHubError } from '../../core/errors.js';
import { TRANSPORT_HTTP, TRANSPORT_PARAM } from '../../protocol/http-wire.js';
import { pathnameOf } from '../ws/pathname.js';

/** The part of `http.Server` the fallback uses: it routes `request` events by wrapping `emit`. */
export interface RequestServer {
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/** Takes a request of the fallback (its path, `transport=http` in the query). */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Every hub attached to one server shares one wrapper of the server's
 * `emit`, kept on the server under a registry symbol so that two copies of
 * this library share it too. Its shape is a contract between copies: change
 * it only with a new key.
 */
interface RequestDispatcher {
  readonly routes: Map<string, RequestHandler>;
}

const DISPATCHER = Symbol.for('signalling-hub.http.request-dispatcher.v1');

type WithDispatcher = RequestServer & { [DISPATCHER]?: RequestDispatcher };

const MARKER = `${TRANSPORT_PARAM}=${TRANSPORT_HTTP}`;

/**
 * Whether a request URL's query string says `transport=http`: only such
 * requests are the fallback's. Everything else on the path (a page, an API
 * route, a health check the host answers there) reaches the host's own
 * `request` listeners untouched.
 */
export function isFallbackUrl(url: string | undefined): boolean {
  if (url === undefined) return false;
  const query = url.indexOf('?');
  if (query === -1 || !url.includes(MARKER, query)) return false;
  return new URLSearchParams(url.slice(query + 1)).get(TRANSPORT_PARAM) === TRANSPORT_HTTP;
}

/**
 * Serves the fallback's requests to `path` on `server` with `handle`.
 *
 * A `request` listener cannot keep the host's listeners (Express, a plain
 * handler) from answering the same request too, so the fallback's requests
 * are taken before any listener sees them: the server's `emit` is wrapped
 * once, and a `request` event whose path is served and whose query has
 * `transport=http` goes to the fallback alone; every other event and
 * request goes on to `emit` as before, in the listeners' order, whenever
 * they were added. Throws `SH_ERR_ALREADY_ATTACHED` if the path is served
 * already. Returns the function that stops serving it (the wrapper is taken
 * off with the last path, unless something wrapped `emit` after it: then it
 * stays, passing everything on).
 */
export function addRequestRoute(server: RequestServer, path: string, handle: RequestHandler): () => void {
  const host = server as WithDispatcher;
  let dispatcher = host[DISPATCHER];
  if (dispatcher === undefined) {
    const routes = new Map<string, RequestHandler>();
    const ownEmit = Object.prototype.hasOwnProperty.call(server, 'emit');
    // Called with the server as `this`, as the server calls it.
    const original = Reflect.get<RequestServer, 'emit'>(server, 'emit');
    const emit = function (this: unknown, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'request' && routes.size > 0) {
        const request = args[0] as IncomingMessage;
        const route = routes.get(pathnameOf(request.url));
        if (route !== undefined && isFallbackUrl(request.url)) {
          route(request, args[1] as ServerResponse);
          return true;
        }
      }
      return original.apply(this, [event, ...args]);
    };
    const created: RequestDispatcher & { unwrap(): void } = {
      routes,
      unwrap() {
        // Something wrapped emit after this: taking this one off would drop theirs. Stay, passing everything on.
        if (server.emit !== emit) return;
        if (ownEmit) server.emit = original;
        else delete (server as { emit?: unknown }).emit;
        delete host[DISPATCHER];
      },
    };
    dispatcher = created;
    Object.defineProperty(host, DISPATCHER, { value: created, configurable: true, enumerable: false, writable: false });
    server.emit = emit;
  }
  const { routes } = dispatcher;
  if (routes.has(path)) {
    throw new SignallingHubError(
      'SH_ERR_ALREADY_ATTACHED',
      `A hub already serves the HTTP fallback on path ${JSON.stringify(path)} of this server: close that attachment first`,
    );
  }
  routes.set(path, handle);
  const current = dispatcher;
  return () => {
    if (routes.get(path) !== handle) return;
    routes.delete(path);
    if (routes.size === 0) (current as RequestDispatcher & { unwrap?: () => void }).unwrap?.();
  };
}
