import type { BackplaneHost, BackplaneStatus } from '../../core/backplane.js';
import { BackplaneError } from '../../core/errors.js';
import { integer, resolveOptions, string } from '../../core/option-check.js';
import { MAX_TIMER_MS } from '../../core/options.js';
import { ClusterBackplane } from '../cluster-backplane.js';
import { nodeIdPattern } from '../node-id.js';
import { MemoryRooms } from './memory-rooms.js';
import { MemoryBus, type MemoryMedium } from './memory-bus.js';

/** Options of a {@link MemoryBackplane} (`MemoryCluster.backplane()` takes all but `nodeId` as its second argument). */
export interface MemoryBackplaneOptions {
  /**
   * This node's id, unique among the live nodes of its cluster: 1–128
   * characters without whitespace or control characters.
   * @default a random UUID
   */
  nodeId?: string;
  /**
   * The pace of the in-memory bus, in ms: a node waits two of these for
   * another node's answer to a resume or a request (as `commandTimeout` of
   * the Redis backplane).
   * @default 1000
   */
  commandTimeout?: number;
}

/** The options in force. */
interface ResolvedOptions {
  readonly nodeId: string | undefined;
  readonly commandTimeout: number;
}

const defaults: ResolvedOptions = { nodeId: undefined, commandTimeout: 1000 };

/** What a node is to its in-memory cluster. */
export interface MemoryMember {
  /** A message on the node's channel. */
  receive(text: string): void;
  /** Node `nodeId` died. */
  nodeGone(nodeId: string): void;
  /** This node was cut off from the cluster (`true`) or is back (`false`). */
  cutOff(off: boolean): void;
}

/** The cluster a {@link MemoryBackplane} joins (`MemoryCluster`). */
interface MemoryClusterLike extends MemoryMedium {
  nodes(): string[];
  join(nodeId: string, member: MemoryMember): boolean;
  leave(nodeId: string, member: MemoryMember): void;
}

/**
 * A node of a `MemoryCluster`: the same protocol between nodes as
 * `RedisBackplane` (fenced claims, ordered forwards, resume across nodes,
 * node requests), carried in memory. Made by `MemoryCluster.backplane()`.
 */
export class MemoryBackplane extends ClusterBackplane {
  private readonly commandTimeout: number;
  private readonly member: MemoryMember = {
    receive: (text) => this.receive(text),
    nodeGone: (nodeId) => {
      for (const id of this.host?.remoteNodes() ?? []) {
        if (id === nodeId) {
          this.host?.nodeDown(nodeId);
          return;
        }
      }
    },
    cutOff: (off) => {
      if (this.closed || !this.started) return;
      this.setState(off ? 'disconnected' : 'connected');
      // Back: whatever others took meanwhile is lost here.
      if (!off) void this.claims.reassert();
    },
  };

  /** @internal Use `MemoryCluster.backplane()`. */
  constructor(
    private readonly cluster: MemoryClusterLike,
    options: MemoryBackplaneOptions = {},
  ) {
    const resolved = resolveOptions<ResolvedOptions>('MemoryBackplane', options, defaults, {
      nodeId: string('1–128 characters without whitespace or control characters', nodeIdPattern),
      commandTimeout: integer(1, MAX_TIMER_MS),
    });
    super(
      resolved.nodeId ?? globalThis.crypto.randomUUID(),
      {
        commandTimeout: resolved.commandTimeout,
        retryInterval: resolved.commandTimeout,
        maxGrantBytes: Infinity,
        maxGrantBytesSource: 'no limit',
      },
      'Memory',
    );
    this.commandTimeout = resolved.commandTimeout;
  }

  /** Joins the cluster; rejects when a live node has this node's id. */
  override start(host: BackplaneHost): Promise<void> {
    return super.start(host);
  }

  /** `connected` while the node is alive in its cluster. */
  status(): BackplaneStatus {
    return { state: this.state, roundTripMs: undefined };
  }

  /** Ids of the live nodes of the cluster. */
  listNodes(): Promise<string[]> {
    return Promise.resolve(this.cluster.nodes());
  }

  /** Every name held on a live node of the cluster, mapped to its node id. */
  listNames(): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const [name, claim] of this.cluster.names) if (this.cluster.alive(claim.node)) names.set(name, claim.node);
    return Promise.resolve(names);
  }

  /** @internal */
  protected connectBus(): Promise<void> {
    if (!this.cluster.join(this.nodeId, this.member)) {
      return Promise.reject(new BackplaneError(`Node id ${this.nodeId} is held by a live node of this cluster; pick another id`));
    }
    this.bus = new MemoryBus(this.cluster, this.nodeId, this.commandTimeout);
    this.roomBus = new MemoryRooms(this.cluster, this.nodeId);
    return this.claims.reassert();
  }

  /** @internal */
  protected joined(): void {
    this.setState('connected');
  }

  /** @internal */
  protected closing(): void {}

  /** @internal */
  protected leaveBus(): Promise<void> {
    this.cluster.leave(this.nodeId, this.member);
    return Promise.resolve();
  }

  /** @internal */
  protected disconnectBus(): Promise<void> {
    return Promise.resolve();
  }
}
