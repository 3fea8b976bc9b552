import { InvalidArgumentError } from '../../core/errors.js';
import { MemoryBackplane, type MemoryBackplaneOptions, type MemoryMember } from './memory-backplane.js';
import type { MemoryClaim, MemoryMedium } from './memory-bus.js';

/** The key of a hold on every node. */
const EVERY_NODE = '';

/**
 * Several hubs in one process joined as a cluster, without Redis: the
 * in-memory counterpart of what a `RedisBackplane` keeps in Redis (who holds
 * which name, a channel per node). The protocol between the nodes is the
 * same code as over Redis, so a test of a cluster can run in one process in
 * milliseconds. Messages are delivered in the order they were published, in
 * a later turn of the event loop, as from a real bus.
 *
 * @example
 * ```ts
 * import { MemoryCluster, SignallingHub } from 'signalling-hub';
 *
 * const cluster = new MemoryCluster();
 * const one = new SignallingHub({ backplane: cluster.backplane('one') });
 * const two = new SignallingHub({ backplane: cluster.backplane('two') });
 * await Promise.all([one.ready, two.ready]);
 * ```
 */
export class MemoryCluster implements MemoryMedium {
  /** @internal Who holds which name. */
  readonly names = new Map<string, MemoryClaim>();
  /** @internal Live nodes, with what each listens with. */
  private readonly listeners = new Map<string, MemoryMember>();
  /** @internal Hand-overs that happened, by request id (what a node whose answer was lost asks about). */
  readonly handed = new Set<string>();
  private queue: Array<readonly [node: string, text: string]> = [];
  private scheduled = false;
  /** Nodes crashed by {@link crash}, until restored. */
  private readonly crashed = new Map<string, MemoryMember>();
  /** Holds in force, by node id ({@link EVERY_NODE}: all). */
  private readonly holds = new Map<string, number>();

  /** A backplane for a hub joining this cluster as node `nodeId` (unique in the cluster; default: a random UUID). */
  backplane(nodeId?: string, options: Omit<MemoryBackplaneOptions, 'nodeId'> = {}): MemoryBackplane {
    return new MemoryBackplane(this, { ...options, nodeId });
  }

  /** Ids of the nodes alive in the cluster. */
  nodes(): string[] {
    return [...this.listeners.keys()];
  }

  /**
   * Node `nodeId` is cut off, as a process killed, or frozen, past its
   * lease: it hears nothing more and reaches nobody, its names are free for
   * other nodes, and every node whose peers are in calls with its peers is
   * told (they hear `leave`). {@link restore} brings a frozen one back.
   */
  crash(nodeId: string): void {
    const member = this.listeners.get(nodeId);
    if (member === undefined) throw new InvalidArgumentError('nodeId', 'a live node of this cluster', JSON.stringify(nodeId));
    this.listeners.delete(nodeId);
    this.crashed.set(nodeId, member);
    member.cutOff(true);
    for (const other of this.listeners.values()) other.nodeGone(nodeId);
  }

  /**
   * Node `nodeId`, crashed by {@link crash}, runs again, as a process that
   * was frozen past its lease: it claims its names again, and those another
   * node took meanwhile are lost here (their holders are closed with 4410),
   * so that one holder remains.
   */
  restore(nodeId: string): void {
    const member = this.crashed.get(nodeId);
    if (member === undefined || this.listeners.has(nodeId)) {
      throw new InvalidArgumentError('nodeId', 'a crashed node of this cluster', JSON.stringify(nodeId));
    }
    this.crashed.delete(nodeId);
    this.listeners.set(nodeId, member);
    member.cutOff(false);
  }

  /** @internal Node `nodeId` joins; `false` when a live node has that id. */
  join(nodeId: string, member: MemoryMember): boolean {
    if (this.listeners.has(nodeId)) return false;
    // A crashed node with this id is gone for good: its successor took over.
    this.crashed.delete(nodeId);
    this.listeners.set(nodeId, member);
    return true;
  }

  /** @internal Node `nodeId` leaves: its names are given back. */
  leave(nodeId: string, member: MemoryMember): void {
    if (this.listeners.get(nodeId) === member) this.listeners.delete(nodeId);
    if (this.crashed.get(nodeId) === member) this.crashed.delete(nodeId);
    // A node that crashed and a live one with its id: the names are the live one's.
    if (this.listeners.has(nodeId)) return;
    for (const [name, claim] of this.names) if (claim.node === nodeId) this.names.delete(name);
  }

  /**
   * Holds the messages for node `nodeId` (for every node when omitted), as a
   * bus that stalls would, until the returned function is called: then they
   * are delivered, in order. Commands still take effect at once.
   */
  hold(nodeId?: string): () => void {
    const key = nodeId ?? EVERY_NODE;
    this.holds.set(key, (this.holds.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.holds.get(key)! - 1;
      if (left === 0) this.holds.delete(key);
      else this.holds.set(key, left);
      this.schedule();
    };
  }

  /** @internal Whether node `nodeId` is alive. */
  alive(nodeId: string): boolean {
    return this.listeners.has(nodeId);
  }

  /** @internal Publishes `text` on node `nodeId`'s channel; returns how many listen there (0 or 1). */
  publish(nodeId: string, text: string): number {
    if (!this.listeners.has(nodeId)) return 0;
    this.queue.push([nodeId, text]);
    this.schedule();
    return 1;
  }

  private schedule(): void {
    if (this.scheduled || this.holds.has(EVERY_NODE) || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.holds.has(EVERY_NODE)) return;
    // What is published while delivering waits for the next turn, as it would on a real bus.
    const batch = this.queue;
    this.queue = [];
    const kept: Array<readonly [string, string]> = [];
    for (const entry of batch) {
      // A held node's messages keep their order behind each other.
      if (this.holds.size > 0 && this.holds.has(entry[0])) kept.push(entry);
      else this.listeners.get(entry[0])?.receive(entry[1]);
    }
    if (kept.length > 0) this.queue = kept.concat(this.queue);
  }
}
