/**
 * Where the backplane keeps its state in Redis. Every key and channel starts
 * with the configured prefix wrapped in a hash tag (`{<keyPrefix>}`, see
 * {@link taggedPrefix}), so several clusters can share one Redis and, on a
 * Redis Cluster, all of one cluster's keys and channels live in one hash slot:
 * the scripts check a claim and publish in one atomic step, which Redis runs
 * only over keys of one slot.
 *
 * - `<prefix>node:<id>`  a node's lease: a string with a TTL, refreshed by its heartbeat.
 * - `<prefix>nodes`      a set of node ids that have held a lease (pruned once a lease is gone).
 * - `<prefix>name:<n>`   `<node id> <claim id>` of the login holding name `n` (no TTL: it lives as long as
 *                        that node's lease; the claim id fences releases).
 * - `<prefix>names:<id>` a set of the names node `id` holds (for releasing them in one go and for presence).
 * - `<prefix>epoch:<id>` a number that grows whenever a name node `id` held stops being its (released,
 *                        taken over, reaped, handed over): a node that saw names held by `id` under an
 *                        epoch may forward to them without reading them again while it has not grown
 *                        (deleted with the node's lease when it leaves, and once its names are reaped).
 * - `<prefix>relay:<id>` the pub/sub channel node `id` receives envelopes and resume control messages on.
 * - `<prefix>gated:<id>` node `id`'s second channel: batches published outside Lua (see GATE in scripts.ts),
 *                        each read only right after the script's approval on the same channel.
 * - `<prefix>batch:<id>` the batch node `id` is forwarding through GATE: written and emptied in one transaction
 *                        (kept, empty, for a Redis Cluster migrating the slot), deleted when the node leaves or
 *                        is reaped, expiring a minute after its last use.
 * - `<prefix>handed:<r>` the node a name was handed over to by resume request `r` (expires after
 *                        {@link HANDED_TTL} ms): how a node whose hand-over answer was lost learns it took effect.
 */
export const LEASE = 'node:';
export const NODES = 'nodes';
export const NAME = 'name:';
export const NAMES = 'names:';
export const RELAY = 'relay:';
export const GATED = 'gated:';
export const BATCH = 'batch:';
export const EPOCH = 'epoch:';
export const HANDED = 'handed:';
/** Lifetime of a `handed:` record in ms: longer than any stall a hand-over's node waits out. */
export const HANDED_TTL = 600_000;
/** Between the node id and the claim id in a name key's value (node ids hold no whitespace). */
export const CLAIM_SEPARATOR = ' ';

/**
 * The prefix every key and channel starts with: `keyPrefix` wrapped in a hash
 * tag, or `keyPrefix` as it is when it holds one already (a `{…}` with
 * something inside, as Redis Cluster reads it). `undefined` when there is
 * no tag to make (an empty prefix).
 */
export function taggedPrefix(keyPrefix: string): string | undefined {
  const open = keyPrefix.indexOf('{');
  if (open !== -1) {
    const close = keyPrefix.indexOf('}', open + 1);
    if (close > open + 1) return keyPrefix;
  }
  return keyPrefix === '' ? undefined : `{${keyPrefix}}`;
}

/** The keys and channel of one node under one prefix (already tagged: {@link taggedPrefix}). */
export class Keys {
  readonly lease: string;
  readonly names: string;
  readonly nodes: string;
  readonly channel: string;
  /** This node's gated channel. */
  readonly gated: string;
  /** Where this node's batch waits for GATE, inside one transaction. */
  readonly batch: string;

  constructor(
    readonly prefix: string,
    nodeId: string,
  ) {
    this.lease = this.leaseOf(nodeId);
    this.names = this.namesOf(nodeId);
    this.nodes = prefix + NODES;
    this.channel = prefix + RELAY + nodeId;
    this.gated = this.gatedOf(nodeId);
    this.batch = prefix + BATCH + nodeId;
  }

  leaseOf(nodeId: string): string {
    return this.prefix + LEASE + nodeId;
  }

  namesOf(nodeId: string): string {
    return this.prefix + NAMES + nodeId;
  }

  /** The gated channel of node `nodeId`. */
  gatedOf(nodeId: string): string {
    return this.prefix + GATED + nodeId;
  }

  /** The pub/sub channel of node `nodeId`. */
  channelOf(nodeId: string): string {
    return this.prefix + RELAY + nodeId;
  }
}
