import { ErrorCode } from '../../protocol/error-codes.js';
import { encodePeersPage } from '../../protocol/rooms.js';
import type { Connection } from '../connection.js';

/**
 * Answers a `peers` request: one page of the names in `names` (this node's
 * logged-in peers), in code-unit order, after `cursor`. Opt-in: with a page
 * size of 0 the hub answers as one without the feature (`unknown-type`).
 */
export function listPeers(connection: Connection, cursor: unknown, pageSize: number, names: Iterable<string>): void {
  if (pageSize === 0) {
    connection.fail(ErrorCode.UnknownType, 'Command not found: peers', 'peers');
    return;
  }
  if (cursor !== undefined && cursor !== null && typeof cursor !== 'string') {
    connection.fail(ErrorCode.InvalidMessage, 'Invalid peers: "cursor" must be the "next" of the previous page', 'peers');
    return;
  }
  const after = cursor ?? '';
  const page: string[] = [];
  for (const name of names) if (name > after) page.push(name);
  page.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const more = page.length > pageSize;
  if (more) page.length = pageSize;
  connection.send(encodePeersPage(page, more ? page[page.length - 1]! : null));
}
