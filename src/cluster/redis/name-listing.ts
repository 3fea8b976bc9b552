import type { NamePage } from '../../core/backplane.js';
import { NamePicker } from '../name-page.js';
import type { ScriptRunner } from './client.js';
import type { Keys } from './keys.js';

/** Names one SSCAN step reads at most: keeps each command short for a Redis shared with forwards. */
const SCAN_COUNT = '1000';

/**
 * One page of the names held by live nodes other than `nodeId`: each live
 * node's names set read with SSCAN, a step at a time (never one command
 * that walks the whole registry while forwards wait behind it), and the
 * page's names picked as they come (see {@link NamePicker}), so the memory
 * used is bounded by the page, not by the cluster.
 */
export async function listRemoteNames(
  runner: ScriptRunner,
  keys: Keys,
  nodeId: string,
  after: string,
  limit: number,
): Promise<NamePage> {
  const picker = new NamePicker(after, limit);
  const nodes = (await runner.command(['SMEMBERS', keys.nodes])) as string[];
  for (const node of nodes) {
    if (node === nodeId) continue;
    // A node whose lease is gone holds nothing, whatever its set still says until it is reaped.
    if ((await runner.command(['EXISTS', keys.leaseOf(node)])) !== 1) continue;
    const set = keys.namesOf(node);
    let cursor = '0';
    do {
      const [next, names] = (await runner.command(['SSCAN', set, cursor, 'COUNT', SCAN_COUNT])) as [string, string[]];
      for (const name of names) picker.offer(name);
      cursor = next;
    } while (cursor !== '0');
  }
  return picker.page();
}
