import type { Envelope, ForwardResult, NamePage } from '../../core/backplane.js';
import type { ClaimReply, ClusterBus, CommandOutcome, HandOverMove, HandOverReply, HandOverRequestReply } from '../bus.js';
import { encodeFramedEnvelope } from '../envelope-codec.js';
import { NamePicker } from '../name-page.js';

/** A name's claim: the node holding it and the login's claim id. */
export interface MemoryClaim {
  readonly node: string;
  readonly claimId: string;
}

/** The shared state of an in-memory cluster, as one node's bus uses it (`MemoryCluster`). */
export interface MemoryMedium {
  readonly names: Map<string, MemoryClaim>;
  readonly handed: Set<string>;
  alive(nodeId: string): boolean;
  /** Publishes `text` on node `nodeId`'s channel; returns how many listen there (0 or 1). */
  publish(nodeId: string, text: string): number;
}

/** Hand-over ids remembered for {@link MemoryBus.handedOver}. */
const MAX_HANDED = 10_000;

const NOT_FOUND: ForwardResult = { delivered: false, reason: 'not-found' };
const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };

/**
 * One node's bus in an in-memory cluster: each operation runs on the shared
 * maps in one synchronous step, which is what makes it atomic, as a Lua
 * script is on Redis. Deadlines are in `Date.now()` time.
 */
export class MemoryBus implements ClusterBus {
  constructor(
    private readonly medium: MemoryMedium,
    private readonly nodeId: string,
    private readonly commandTimeout: number,
  ) {}

  get ready(): boolean {
    return this.medium.alive(this.nodeId);
  }

  congestion(): Error | undefined {
    return undefined;
  }

  deadline(extra = 0): string {
    return String(Math.floor(Date.now() + this.commandTimeout + extra));
  }

  outcomeOf(): CommandOutcome {
    return 'failed';
  }

  claim(claims: ReadonlyArray<readonly [string, string]>): Promise<ClaimReply> {
    const { names } = this.medium;
    if (!this.medium.alive(this.nodeId)) return Promise.resolve('lapsed');
    const taken: string[] = [];
    for (const [name, claimId] of claims) {
      const owner = names.get(name);
      if (owner !== undefined && owner.node !== this.nodeId && this.medium.alive(owner.node)) taken.push(name);
      else names.set(name, { node: this.nodeId, claimId });
    }
    return Promise.resolve(taken);
  }

  release(claims: ReadonlyArray<readonly [string, string]>): Promise<unknown> {
    const { names } = this.medium;
    for (const [name, claimId] of claims) {
      const owner = names.get(name);
      if (owner?.node === this.nodeId && (claimId === '' || owner.claimId === claimId)) names.delete(name);
    }
    return Promise.resolve();
  }

  ownNames(): Promise<readonly string[]> {
    const own: string[] = [];
    for (const [name, owner] of this.medium.names) if (owner.node === this.nodeId) own.push(name);
    return Promise.resolve(own);
  }

  refresh(): Promise<boolean> {
    return Promise.resolve(true);
  }

  forward(envelope: Envelope): Promise<ForwardResult> {
    const node = this.holder(envelope.to);
    if (node === undefined) return Promise.resolve(NOT_FOUND);
    // The same text as over Redis, so that the receiving side runs the same decoder.
    const receivers = this.medium.publish(node, encodeFramedEnvelope(envelope));
    return Promise.resolve(receivers > 0 ? { delivered: true, node } : UNAVAILABLE);
  }

  publish(nodeId: string, text: string): Promise<number> {
    return Promise.resolve(this.medium.publish(nodeId, text));
  }

  requestHandOver(name: string, request: string): Promise<HandOverRequestReply> {
    const owner = this.medium.names.get(name);
    if (owner === undefined || !this.medium.alive(owner.node)) return Promise.resolve({ holder: '', receivers: 0 });
    if (owner.node === this.nodeId) return Promise.resolve({ holder: owner.node, receivers: 0 });
    return Promise.resolve({ holder: owner.node, receivers: this.medium.publish(owner.node, request) });
  }

  handOver(move: HandOverMove): Promise<HandOverReply> {
    const { names } = this.medium;
    if (expired(move.deadline)) return Promise.resolve({ moved: false, reason: 'expired' });
    const owner = names.get(move.name);
    if (owner?.node !== this.nodeId || owner.claimId !== move.claimId)
      return Promise.resolve({ moved: false, reason: 'not-held' });
    if (!this.medium.alive(move.to)) return Promise.resolve({ moved: false, reason: 'gone' });
    if (this.medium.publish(move.to, move.grant) === 0) return Promise.resolve({ moved: false, reason: 'deaf' });
    names.set(move.name, { node: move.to, claimId: move.toClaimId });
    const { handed } = this.medium;
    // Asked about only within a hand-over's deadline: the oldest can go.
    if (handed.size >= MAX_HANDED) handed.delete(handed.values().next().value!);
    handed.add(move.id);
    return Promise.resolve({ moved: true, markerHeard: this.medium.publish(this.nodeId, move.marker) > 0 });
  }

  handedOver(id: string, deadline: string): Promise<boolean | undefined> {
    if (this.medium.handed.has(id)) return Promise.resolve(true);
    return Promise.resolve(expired(deadline) ? false : undefined);
  }

  namePage(after: string, limit: number): Promise<NamePage> {
    const picker = new NamePicker(after, limit);
    for (const [name, owner] of this.medium.names) {
      if (owner.node !== this.nodeId && this.medium.alive(owner.node)) picker.offer(name);
    }
    return Promise.resolve(picker.page());
  }

  /** The live node other than this one holding `name`. */
  private holder(name: string): string | undefined {
    const owner = this.medium.names.get(name);
    if (owner === undefined || owner.node === this.nodeId || !this.medium.alive(owner.node)) return undefined;
    return owner.node;
  }
}

function expired(deadline: string): boolean {
  return deadline !== '0' && Date.now() > Number(deadline);
}
