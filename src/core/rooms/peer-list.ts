import { ErrorCode } from '../../protocol/error-codes.js';
import { encodePeersPage } from '../../protocol/rooms.js';
import type { Backplane, NamePage } from '../backplane.js';
import type { Connection } from '../connection.js';
import { ConnectionState } from '../connection-state.js';

/** Connections whose listing waits for the backplane: one at a time each, so a client cannot pile up cluster reads. */
const listing = new WeakSet<Connection>();

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The names of `names` after `after`, in code-unit order, at most `limit + 1` (the one past tells that more follow). */
export function localNamesAfter(names: Iterable<string>, after: string, limit: number): string[] {
  const page: string[] = [];
  for (const name of names) if (name > after) page.push(name);
  page.sort(byCodeUnits);
  if (page.length > limit + 1) page.length = limit + 1;
  return page;
}

/**
 * One page of this node's names (`local`, from {@link localNamesAfter}) and
 * the other nodes' (`remote`, a backplane's `namePage` with the same cursor
 * and limit), in code-unit order, each name once.
 */
export function mergeNamePages(local: readonly string[], remote: NamePage | undefined, limit: number): NamePage {
  const all = remote === undefined ? [...local] : [...new Set([...local, ...remote.names])].sort(byCodeUnits);
  const more = all.length > limit || remote?.more === true;
  if (all.length > limit) all.length = limit;
  return { names: all, more };
}

/**
 * Answers a `peers` request: one page of the names in `names` (this node's
 * logged-in peers) and, with a backplane that lists names, those of every
 * other live node, in code-unit order, after `cursor`. Opt-in: with a page
 * size of 0 the hub answers as one without the feature (`unknown-type`).
 */
export function listPeers(
  connection: Connection,
  cursor: unknown,
  pageSize: number,
  names: Iterable<string>,
  backplane?: Backplane,
): void {
  if (pageSize === 0) {
    connection.fail(ErrorCode.UnknownType, 'Command not found: peers', 'peers');
    return;
  }
  if (cursor !== undefined && cursor !== null && typeof cursor !== 'string') {
    connection.fail(ErrorCode.InvalidMessage, 'Invalid peers: "cursor" must be the "next" of the previous page', 'peers');
    return;
  }
  const after = cursor ?? '';
  const local = localNamesAfter(names, after, pageSize);
  if (backplane?.namePage === undefined) {
    send(connection, mergeNamePages(local, undefined, pageSize));
    return;
  }
  if (listing.has(connection)) {
    connection.fail(ErrorCode.RateLimited, 'A peers listing is being read: wait for its page', 'peers');
    return;
  }
  listing.add(connection);
  const name = connection.name;
  const answerable = () => connection.state === ConnectionState.Joined && connection.name === name;
  backplane.namePage(after, pageSize).then(
    (remote) => {
      listing.delete(connection);
      if (answerable()) send(connection, mergeNamePages(local, remote, pageSize));
    },
    () => {
      listing.delete(connection);
      if (answerable())
        connection.fail(
          ErrorCode.BackplaneUnavailable,
          'Cannot list who is online: the cluster backplane is unreachable',
          'peers',
        );
    },
  );
}

function send(connection: Connection, page: NamePage): void {
  const { names, more } = page;
  connection.send(encodePeersPage(names, more ? names[names.length - 1]! : null));
}
