import { type LinkAddress, NodeLink } from './node-link.js';
import type { NodeLinkError } from './errors.js';

/** The longest wait before dialling a node again, in ms. */
const MAX_RETRY_MS = 30_000;

/**
 * This node's links to the others, dialled the first time a batch could use one (until a
 * link is open, batches go through the cluster's store). After a link fails, or a node could
 * not be found or reached, it is dialled again `retryMs` later at the soonest, twice that after
 * a second failure in a row, and so on up to 30 s (an address nobody can reach is not dialled,
 * nor reported, every heartbeat).
 */
export class NodeLinks {
  private readonly links = new Map<string, NodeLink>();
  /** Nodes being looked up or dialled, and nodes not to dial before the time mapped. */
  private readonly waiting = new Map<string, number>();
  /** Failures in a row per node, since its last open link. */
  private readonly failures = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly self: string,
    /** Where a node listens for links (its lease's record), or `undefined` when it does not. */
    private readonly locate: (node: string) => Promise<LinkAddress | undefined>,
    private readonly timeout: number,
    private readonly retryMs: number,
    private readonly failed: (error: NodeLinkError) => void,
  ) {}

  /** The open link to `node`, or `undefined` (then one is dialled, unless it was lately). */
  open(node: string): NodeLink | undefined {
    const link = this.links.get(node);
    if (link !== undefined && link.state === 'open') {
      if (this.failures.size > 0) this.failures.delete(node);
      return link;
    }
    if (link === undefined && !this.closed) this.dial(node);
    return undefined;
  }

  /** Links open now. */
  get openCount(): number {
    let open = 0;
    for (const link of this.links.values()) if (link.state === 'open') open++;
    return open;
  }

  /** Closes every link (what is in flight is answered `unavailable`); none is dialled after. */
  close(): void {
    this.closed = true;
    for (const link of [...this.links.values()]) link.close();
    this.links.clear();
  }

  private dial(node: string): void {
    const until = this.waiting.get(node);
    if (until !== undefined && (until === Infinity || performance.now() < until)) return;
    // Looked up once at a time; nodes come and go, so the map is bounded by the live ones.
    this.waiting.set(node, Infinity);
    this.locate(node).then(
      (address) => {
        if (this.closed) return;
        if (address === undefined) {
          this.backOff(node);
          return;
        }
        this.waiting.delete(node);
        this.links.set(node, new NodeLink(this.self, node, address, this.timeout, this.lost));
      },
      () => this.backOff(node),
    );
  }

  private backOff(node: string): void {
    if (this.waiting.size > 1024) this.waiting.clear();
    if (this.failures.size > 1024) this.failures.clear();
    const failures = (this.failures.get(node) ?? 0) + 1;
    this.failures.set(node, failures);
    this.waiting.set(node, performance.now() + Math.min(MAX_RETRY_MS, this.retryMs * 2 ** (failures - 1)));
  }

  private readonly lost = (link: NodeLink, error: NodeLinkError | undefined): void => {
    if (this.links.get(link.node) === link) this.links.delete(link.node);
    if (!this.closed) this.backOff(link.node);
    if (error !== undefined) this.failed(error);
  };
}
