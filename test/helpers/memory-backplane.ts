import type { Backplane, BackplaneHost, ClaimResult, Envelope, ForwardResult, ResumeResult } from '../../src/index.js';

/**
 * A cluster bus in memory, for testing the core's side of the Backplane port
 * in isolation (the Redis backplane has its own suites against real Redis).
 * Deliveries go out in order, one microtask later, as a pub/sub would.
 */
export class MemoryBus {
  readonly names = new Map<string, { node: string; claimId: string }>();
  readonly hosts = new Map<string, BackplaneHost>();
  /** Awaited before a resume reaches the holder's node: a test holds it to act in between. */
  resumeGate: Promise<void> = Promise.resolve();

  backplane(nodeId: string): Backplane {
    return new MemoryBackplane(this, nodeId);
  }

  /** Node `nodeId` died: every other node hears it, as from a lapsed lease. */
  nodeDown(nodeId: string): void {
    for (const [id, host] of this.hosts) if (id !== nodeId) host.nodeDown(nodeId);
  }
}

class MemoryBackplane implements Backplane {
  constructor(
    private readonly bus: MemoryBus,
    readonly nodeId: string,
  ) {}

  start(host: BackplaneHost): Promise<void> {
    this.bus.hosts.set(this.nodeId, host);
    return Promise.resolve();
  }

  claim(name: string, claimId: string): Promise<ClaimResult> {
    const owner = this.bus.names.get(name);
    if (owner !== undefined && owner.node !== this.nodeId) return Promise.resolve('taken');
    this.bus.names.set(name, { node: this.nodeId, claimId });
    return Promise.resolve('claimed');
  }

  release(name: string, claimId: string): void {
    const owner = this.bus.names.get(name);
    if (owner?.node === this.nodeId && owner.claimId === claimId) this.bus.names.delete(name);
  }

  async forward(envelope: Envelope): Promise<ForwardResult> {
    const owner = this.bus.names.get(envelope.to);
    if (owner === undefined || owner.node === this.nodeId) return { delivered: false, reason: 'not-found' };
    await Promise.resolve();
    this.bus.hosts.get(owner.node)?.deliver(envelope);
    return { delivered: true, node: owner.node };
  }

  async resume(name: string, token: string, claimId: string): Promise<ResumeResult> {
    await this.bus.resumeGate;
    const owner = this.bus.names.get(name);
    const holder = owner === undefined ? undefined : this.bus.hosts.get(owner.node);
    if (owner === undefined || holder === undefined || owner.node === this.nodeId) return { resumed: false, reason: 'not-held' };
    const handOver = holder.handOverRequested(name, token);
    if (handOver === undefined) return { resumed: false, reason: 'refused' };
    this.bus.names.set(name, { node: this.nodeId, claimId });
    holder.handOverSettled(name, true);
    return { resumed: true, grant: handOver.grant };
  }

  close(): Promise<void> {
    this.bus.hosts.delete(this.nodeId);
    for (const [name, owner] of this.bus.names) if (owner.node === this.nodeId) this.bus.names.delete(name);
    return Promise.resolve();
  }
}
