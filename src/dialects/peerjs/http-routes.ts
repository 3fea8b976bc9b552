import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HookError } from '../../core/errors.js';
import type { PeerjsDialect } from './dialect.js';
import { validId } from './wire.js';

/** What `GET {path}` answers, as peerjs-server does. */
export const PEERJS_APP_INFO = Object.freeze({
  name: 'PeerJS Server',
  description: 'A server side element to broker connections between PeerJS clients.',
  website: 'https://peerjs.com/',
});

/** Tries to make an unused id this many times before answering 503. */
const ID_ATTEMPTS = 8;

function reply(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    // peerjs-server answers every origin (the client fetches from the page's origin).
    'Access-Control-Allow-Origin': '*',
    'Cache-Control': 'no-store',
  });
  response.end(body);
}

function freshId(dialect: PeerjsDialect): string | undefined {
  const generate = dialect.options.generateClientId;
  for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
    let id: unknown;
    try {
      id = generate === undefined ? randomUUID() : generate();
    } catch (error) {
      dialect.adapterPort.reportError(new HookError('generateClientId', error));
      return undefined;
    }
    if (!validId(id)) {
      dialect.adapterPort.reportError(
        new HookError('generateClientId', new TypeError('it returned something that is not a PeerJS id')),
      );
      return undefined;
    }
    if (!dialect.isOnline(id)) return id;
  }
  return undefined;
}

/**
 * Answers the PeerJS HTTP routes of `dialect` and returns `true`, or returns
 * `false` for a request that is not one of them (the host's listeners get it):
 * `GET {path}` app info; `GET {path}{key}/id` a fresh id (text);
 * `GET {path}{key}/peers` the ids online on this node (JSON) when
 * `allow_discovery`, else 401. Another key: 401. Another method: 405.
 */
export function handlePeerjsRequest(dialect: PeerjsDialect, request: IncomingMessage, response: ServerResponse): boolean {
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  const { path, key, allow_discovery } = dialect.options;
  let route: 'info' | 'id' | 'peers';
  let givenKey = '';
  if (pathname === path || (path !== '/' && pathname === path.slice(0, -1))) {
    route = 'info';
  } else {
    if (!pathname.startsWith(path)) return false;
    const rest = pathname.slice(path.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return false;
    const action = rest.slice(slash + 1);
    if (action !== 'id' && action !== 'peers') return false;
    route = action;
    givenKey = rest.slice(0, slash);
  }
  if (request.method === 'OPTIONS') {
    response.writeHead(204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET',
      'Content-Length': 0,
    });
    response.end();
    return true;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD, OPTIONS');
    reply(response, 405, 'text/plain; charset=utf-8', 'Method Not Allowed');
    return true;
  }
  if (route === 'info') {
    reply(response, 200, 'application/json; charset=utf-8', JSON.stringify(PEERJS_APP_INFO));
    return true;
  }
  if (givenKey !== key) {
    reply(response, 401, 'text/plain; charset=utf-8', 'Invalid key provided');
    return true;
  }
  if (route === 'id') {
    const id = freshId(dialect);
    if (id === undefined) reply(response, 503, 'text/plain; charset=utf-8', 'No available id has been found');
    else reply(response, 200, 'text/html; charset=utf-8', id);
    return true;
  }
  if (!allow_discovery) {
    reply(response, 401, 'text/plain; charset=utf-8', 'Peer discovery is off on this server');
    return true;
  }
  reply(response, 200, 'application/json; charset=utf-8', JSON.stringify(dialect.ids()));
  return true;
}
