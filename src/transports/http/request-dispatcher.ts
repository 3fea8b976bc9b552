import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignallingHubError } from '../../core/errors.js';
import { pathnameOf } from '../shared/path.js';
import { type EmittingServer, interceptEvent } from '../shared/server-events.js';
import { TRANSPORT_HTTP, TRANSPORT_PARAM } from '../../protocol/http-wire.js';

const MARKER = `${TRANSPORT_PARAM}=${TRANSPORT_HTTP}`;

/** The part of `http.Server` the fallback uses: it takes `request` events before the listeners. */
export type RequestServer = EmittingServer;

/** Takes a request of the fallback (its path, `transport=http` in the query). */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Every hub attached to one server shares one route table, kept on the
 * server under a registry symbol so that two copies of this library share it
 * too. Its shape is a contract between copies: change it only with a new key.
 */
interface RequestDispatcher {
  readonly routes: Map<string, RequestHandler>;
  /** Stops taking requests before the listeners. */
  readonly stop: () => void;
}

const DISPATCHER = Symbol.for('signalling-hub.http.request-dispatcher.v2');

type WithDispatcher = RequestServer & { [DISPATCHER]?: RequestDispatcher };

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
 * are taken before any listener sees them (see `interceptEvent`): a
 * `request` event whose path is served and whose query has `transport=http`
 * goes to the fallback alone; every other request goes on to the listeners
 * in their order, whenever they were added. Throws `SH_ERR_ALREADY_ATTACHED`
 * if the path is served already. Returns the function that stops serving it.
 */
export function addRequestRoute(server: RequestServer, path: string, handle: RequestHandler): () => void {
  const host = server as WithDispatcher;
  let dispatcher = host[DISPATCHER];
  if (dispatcher === undefined) {
    const routes = new Map<string, RequestHandler>();
    const stop = interceptEvent(server, 'request', (args) => {
      const request = args[0] as IncomingMessage;
      const route = routes.get(pathnameOf(request.url));
      if (route === undefined || !isFallbackUrl(request.url)) return false;
      route(request, args[1] as ServerResponse);
      return true;
    });
    dispatcher = { routes, stop };
    Object.defineProperty(host, DISPATCHER, { value: dispatcher, configurable: true, enumerable: false, writable: false });
  }
  const { routes, stop } = dispatcher;
  if (routes.has(path)) {
    throw new SignallingHubError(
      'SH_ERR_ALREADY_ATTACHED',
      `A hub already serves the HTTP fallback on path ${JSON.stringify(path)} of this server: close that attachment first`,
    );
  }
  routes.set(path, handle);
  return () => {
    if (routes.get(path) !== handle) return;
    routes.delete(path);
    if (routes.size > 0) return;
    stop();
    delete host[DISPATCHER];
  };
}
