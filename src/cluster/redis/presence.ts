import type { ScriptRunner } from './client.js';
import type { Keys } from './keys.js';

/** Ids of the nodes whose lease is current. */
export async function liveNodes(runner: ScriptRunner, keys: Keys): Promise<string[]> {
  const ids = (await runner.command(['SMEMBERS', keys.nodes])) as string[];
  const alive = await Promise.all(ids.map((id) => runner.command(['EXISTS', keys.leaseOf(id)])));
  return ids.filter((_, index) => alive[index] === 1);
}

/** Every name held on a live node, mapped to its node id. */
export async function liveNames(runner: ScriptRunner, keys: Keys): Promise<Map<string, string>> {
  const nodes = await liveNodes(runner, keys);
  const sets = await Promise.all(nodes.map((id) => runner.command(['SMEMBERS', keys.namesOf(id)])));
  const names = new Map<string, string>();
  nodes.forEach((id, index) => {
    for (const name of sets[index] as string[]) names.set(name, id);
  });
  return names;
}
