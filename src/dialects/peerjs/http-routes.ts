import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HookError } from '../../core/errors.js';
import type { PeerjsDialect } from './dialect.js';
import { localNamesAfter, mergeNamePages } from '../../core/rooms/peer-list.js';
import { validId } from './wire.js';

/** What `GET {path}` answers, as peerjs-server does. */
export const PEERJS_APP_INFO = Object.freeze({
  name: 'PeerJS Server',
  description: 'A server side element to broker connections between PeerJS clients.',
  website: 'https://peerjs.com/',
});

/** Tries to make an unused id this many times before answering 503. */
const ID_ATTEMPTS = 8;

/**
 * Most ids `GET {path}{key}/peers` lists (the first in code-unit order):
 * PeerJS's listing has no pages, and an answer must stay bounded.
 */
export const MAX_LISTED_IDS = 10_000;

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

/**
 * An id no connection holds, here or (with a backplane that can locate names)
 * on any live node; `undefined` when none was found or the cluster could not
 * be asked (503: an id held elsewhere is never handed out).
 */
async function freshId(dialect: PeerjsDialect): Promise<string | undefined> {
  const generate = dialect.options.generateClientId;
  const backplane = dialect.adapterPort.options.backplane;
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
    if (dialect.isOnline(id)) continue;
    if (backplane?.locate === undefined) return id;
    try {
      if ((await backplane.locate(dialect.nameOf(id))) === undefined) return id;
    } catch (error) {
      dialect.adapterPort.reportError(error);
      return undefined;
    }
  }
  return undefined;
}

/**
 * The ids online on every node (with a backplane that lists names) in
 * code-unit order, at most {@link MAX_LISTED_IDS}; rejects when the cluster
 * cannot be read.
 */
async function onlineIds(dialect: PeerjsDialect): Promise<string[]> {
  const prefix = dialect.nameOf('');
  const local = localNamesAfter(
    dialect.ids().map((id) => prefix + id),
    prefix,
    MAX_LISTED_IDS,
  );
  const backplane = dialect.adapterPort.options.backplane;
  const remote = backplane?.namePage === undefined ? undefined : await backplane.namePage(prefix, MAX_LISTED_IDS);
  const ids: string[] = [];
  // Every name that starts with the prefix sorts right after it, before any that does not.
  for (const name of mergeNamePages(local, remote, MAX_LISTED_IDS).names) {
    if (!name.startsWith(prefix)) break;
    ids.push(name.slice(prefix.length));
  }
  return ids;
}

/**
 * Answers the PeerJS HTTP routes of `dialect` and returns `true`, or returns
 * `false` for a request that is not one of them (the host's listeners get it):
 * `GET {path}` app info; `GET {path}{key}/id` a fresh id (text);
 * `GET {path}{key}/peers` the ids online on every node (JSON, at most
 * {@link MAX_LISTED_IDS}) when `allow_discovery`, else 401. Another key: 401.
 * Another method: 405. With a backplane, both ask the cluster, and answer
 * 503 when it cannot be reached.
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
    void freshId(dialect).then((id) => {
      if (id === undefined) reply(response, 503, 'text/plain; charset=utf-8', 'No available id has been found');
      else reply(response, 200, 'text/html; charset=utf-8', id);
    });
    return true;
  }
  if (!allow_discovery) {
    reply(response, 401, 'text/plain; charset=utf-8', 'Peer discovery is off on this server');
    return true;
  }
  onlineIds(dialect).then(
    (ids) => reply(response, 200, 'application/json; charset=utf-8', JSON.stringify(ids)),
    (error: unknown) => {
      dialect.adapterPort.reportError(error);
      reply(response, 503, 'text/plain; charset=utf-8', 'The cluster cannot be reached: try again');
    },
  );
  return true;
}
