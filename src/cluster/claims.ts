import { BackplaneError } from '../core/errors.js';
import type { ClaimResult } from '../core/backplane.js';
import type { ClusterContext } from './context.js';

/** Names per bus call when many are claimed or released at once, so that no call holds the bus for long. */
const BATCH = 500;

/**
 * This node's claims as it sees them, and how it keeps the bus in line with
 * them. A claim carries its login's claim id and a release frees only that
 * claim (fencing: a late release of an earlier login never frees a later
 * one's). A claim whose answer was lost may still take effect, so it is
 * released later, fenced by its id. When the bus may have lost state (it
 * restarted, or this node's registration lapsed) every held name is claimed
 * again; a name another node took meanwhile is lost here (its local holder
 * is closed with 4410), and names the bus still has for this node that it no
 * longer holds are released.
 */
export class Claims {
  /** Names this node has claimed or is claiming, with their claim ids: what it re-asserts. */
  private readonly held = new Map<string, string>();
  /** Claims that may have taken effect although they were not confirmed: released, fenced by their id, later. */
  private readonly unreleased = new Map<string, string>();
  /** Names being resumed here (name → claim id): a re-assertion neither claims nor releases them. */
  private readonly resuming = new Map<string, string>();
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  /** A re-assertion is owed (one failed, or the bus may have lost state unseen): done at the next chance. */
  owed = false;

  constructor(private readonly node: ClusterContext) {}

  /** Claims `name` under `claimId` (the bus is ready: the backplane checked). */
  async claim(name: string, claimId: string): Promise<ClaimResult> {
    const bus = this.node.bus!;
    this.held.set(name, claimId);
    try {
      let reply = await bus.claim([[name, claimId]]);
      if (reply === 'lapsed') {
        // This node's registration had lapsed, so its other names may be gone too: re-assert them all first.
        this.forget(name, claimId);
        await this.reassert();
        if (this.node.closed) return 'unavailable';
        this.held.set(name, claimId);
        reply = await bus.claim([[name, claimId]]);
      }
      if (typeof reply === 'string') {
        this.forget(name, claimId);
        return 'unavailable';
      }
      // Either way no earlier claim of this node on the name is left on the bus.
      this.unreleased.delete(name);
      if (reply.length === 0) return 'claimed';
      this.forget(name, claimId);
      return 'taken';
    } catch (error) {
      this.forget(name, claimId);
      // A claim that was sent may still happen (within its deadline): give it back later.
      if (bus.outcomeOf(error) !== 'not-sent') this.unreleased.set(name, claimId);
      this.node.reportFailure(error);
      return 'unavailable';
    }
  }

  /** Gives `name` back if the bus still holds it under `claimId`; a release lost on the way is redone later. */
  release(name: string, claimId: string): void {
    this.forget(name, claimId);
    const bus = this.node.bus;
    if (this.node.closed) return;
    if (bus === undefined || !bus.ready) {
      this.unreleased.set(name, claimId);
      return;
    }
    bus.release([[name, claimId]]).catch((error: unknown) => {
      if (this.held.get(name) !== claimId) this.unreleased.set(name, claimId);
      this.node.reportFailure(error);
    });
  }

  /** Drops `name` from the held names if it is still held under `claimId`. */
  forget(name: string, claimId: string): void {
    if (this.held.get(name) === claimId) this.held.delete(name);
  }

  /** `name` became this node's under `claimId` by a hand-over from another node. */
  adopt(name: string, claimId: string): void {
    this.held.set(name, claimId);
    this.unreleased.delete(name);
  }

  /** `name` is being resumed here under `claimId`: the bus may record it as this node's before the grant arrives. */
  resumingStarted(name: string, claimId: string): void {
    this.resuming.set(name, claimId);
  }

  resumingEnded(name: string, claimId: string): void {
    if (this.resuming.get(name) === claimId) this.resuming.delete(name);
  }

  /** Retries the releases that were lost (after the bus answered again). */
  retryReleases(): void {
    const bus = this.node.bus;
    if (this.unreleased.size === 0 || bus === undefined) return;
    const claims = [...this.unreleased].filter(([name, claimId]) => this.held.get(name) !== claimId);
    this.unreleased.clear();
    for (let start = 0; start < claims.length; start += BATCH) {
      const batch = claims.slice(start, start + BATCH);
      bus.release(batch).catch((error: unknown) => {
        for (const [name, claimId] of batch) if (this.held.get(name) !== claimId) this.unreleased.set(name, claimId);
        this.node.reportFailure(error);
      });
    }
  }

  /**
   * Re-asserts this node's registration and every held name, closes (4410)
   * the local holders of names another node took meanwhile, and releases
   * names the bus still has for this node but it no longer holds. One runs
   * at a time; a call during one runs it again after it.
   */
  reassert(): Promise<void> {
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.owed = false;
    const run = async () => {
      try {
        do {
          this.syncAgain = false;
          await this.reassertOnce();
        } while (this.syncAgain && !this.node.closed);
      } catch (error) {
        // Tried again at the next chance the backplane sees (its next answered heartbeat).
        this.owed = true;
        this.node.reportFailure(error);
      } finally {
        this.syncing = undefined;
      }
    };
    return (this.syncing = run());
  }

  private async reassertOnce(): Promise<void> {
    const { bus, host } = this.node;
    if (this.node.closed || bus === undefined || host === undefined || !bus.ready) return;
    if (!(await bus.refresh())) {
      this.node.report(new BackplaneError(`Another process holds node id ${this.node.nodeId}: node ids must be unique`));
      return;
    }
    // Only logged-in holders are closed for a lost name; a login still claiming hears `taken` from its own claim.
    const local = new Map<string, string>();
    for (const [name, claimId] of host.localClaims()) {
      local.set(name, claimId);
      this.held.set(name, claimId);
    }
    const claims = [...this.held];
    for (let start = 0; start < claims.length; start += BATCH) {
      const batch = claims.slice(start, start + BATCH);
      const taken = await bus.claim(batch);
      if (taken === 'lapsed') {
        this.syncAgain = true;
        return;
      }
      if (taken === 'expired') throw new BackplaneError('Re-asserting names: the bus ran a claim past its deadline');
      if (taken.length === 0) continue;
      const ids = new Map(batch);
      for (const name of taken) {
        const claimId = ids.get(name)!;
        this.forget(name, claimId);
        if (local.get(name) !== claimId) continue;
        // Another node won the name while this one could not assert it (the bus
        // or this node stalled past its registration, or the bus lost its data): one holder must remain.
        this.node.report(
          new BackplaneError(
            `Name ${name} was claimed on another node while this node was cut off from the cluster: its holder here is closed (4410)`,
          ),
        );
        host.claimLost(name, claimId);
      }
    }
    const recorded = await bus.ownNames();
    // A name being resumed here may already be this node's on the bus before its grant has arrived.
    const stale = recorded.filter((name) => !this.held.has(name) && !this.resuming.has(name)).map((name) => [name, ''] as const);
    for (let start = 0; start < stale.length; start += BATCH) await bus.release(stale.slice(start, start + BATCH));
  }

  /** The node leaves: nothing is held any more. */
  clear(): void {
    this.held.clear();
    this.unreleased.clear();
    this.resuming.clear();
  }
}
