import type { ScriptRunner } from './client.js';
import type { Keys } from './keys.js';
import { HEARTBEAT } from './scripts.js';

/** The lease was refreshed (1), had lapsed and was re-created (0), or another process holds the node id (2). */
export type LeaseState = 0 | 1 | 2;

/** What the heartbeat reports to the backplane. */
export interface LeaseWatcher {
  /** Node ids this node's peers are in calls with: the leases checked each beat. */
  watched(): Iterable<string>;
  /** A beat found this node's own lease gone or held by another process. */
  lost(state: 0 | 2): void;
  /** A watched node's lease is gone. */
  nodeDown(nodeId: string): void;
  /** A beat failed (Redis down, slow or busy); the next one tries again. */
  failed(error: unknown): void;
  /** After every successful beat. */
  beat(): void;
}

/**
 * This node's lease: one Lua call per heartbeat refreshes it, checks the
 * leases of the watched nodes and reaps dead nodes' names. The traffic per
 * beat depends on the number of nodes, never on the number of peers: names
 * live as long as the lease (socket.io's cluster adapter does the same with
 * a 5 s heartbeat and a 10 s timeout).
 *
 * Each beat also measures the round trip and reads Redis's clock, from which
 * commands get their deadlines (see {@link ScriptRunner.deadline}).
 */
export class NodeLease {
  /** Round trip of the last successful beat, in ms. */
  roundTripMs: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private beating = false;
  /**
   * Until when (`performance.now()`) the lease surely holds, so no other node can have taken this
   * node's names: what a link checks before it delivers or sends (0: not now).
   */
  currentUntil = 0;
  private refreshed = false;
  private connectedAt = Date.now();

  constructor(
    private readonly runner: ScriptRunner,
    private readonly keys: Keys,
    private readonly nodeId: string,
    /** Tells this process's lease from another one's with the same node id. */
    private readonly token: string,
    private readonly leaseTtl: number,
    private readonly heartbeatInterval: number,
    private readonly reapBatch: number,
    private readonly commandTimeout: number,
    private readonly watcher: LeaseWatcher,
  ) {}

  /**
   * (Re)connected to Redis. Other nodes' leases are judged only once they
   * have had a full TTL to re-assert them: after Redis restarts empty every
   * lease is missing, and without this grace each node would tell its peers
   * that every other node died (the false "server count" after a restart of
   * socket.io-redis-adapter#523 is the same trap).
   */
  connected(): void {
    this.connectedAt = Date.now();
  }

  /** Refreshes the lease once; with `check`, also reports dead watched nodes and reaps. */
  async refresh(check = false): Promise<LeaseState> {
    const watched = check ? [...this.watcher.watched()] : [];
    const sentAt = performance.now();
    const reply = (await this.runner.run(
      HEARTBEAT,
      [this.keys.lease, this.keys.nodes],
      [this.nodeId, this.token, String(this.leaseTtl), this.keys.prefix, check ? '1' : '0', String(this.reapBatch), ...watched],
    )) as [number, string[], string, string];
    const receivedAt = performance.now();
    const [state, dead, seconds, microseconds] = reply;
    const roundTrip = receivedAt - sentAt;
    this.roundTripMs = roundTrip;
    // The midpoint of the round trip is within roundTrip / 2 of when Redis read
    // its clock; a slow beat would give a poor estimate, so keep the last good one.
    if (this.runner.clockOffset === undefined || roundTrip <= this.commandTimeout / 4) {
      this.runner.clockOffset = Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000) - (sentAt + receivedAt) / 2;
    }
    // Redis set the lease's TTL after `sentAt`; a beat that found it gone (the node stalled, or Redis
    // lost it) vouches for nothing until the next, after the names were re-asserted. The first beat
    // creates the lease.
    if (state === 1 || (state === 0 && !this.refreshed))
      this.currentUntil = sentAt + this.leaseTtl - Math.min(100, this.leaseTtl / 10);
    else this.currentUntil = 0;
    this.refreshed = true;
    for (const nodeId of dead) this.watcher.nodeDown(nodeId);
    return state as LeaseState;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.tick(), this.heartbeatInterval);
    // The Redis connections keep a host alive, not the heartbeat.
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.currentUntil = 0;
  }

  private async tick(): Promise<void> {
    // Skipped while Redis is unreachable or has too much to answer already:
    // beats would only pile up. A lease that lapses meanwhile is found by the next beat.
    if (this.beating || !this.runner.ready || this.runner.controlBlocked) return;
    this.beating = true;
    try {
      const state = await this.refresh(Date.now() - this.connectedAt >= this.leaseTtl);
      if (state !== 1) this.watcher.lost(state);
      this.watcher.beat();
    } catch (error) {
      this.watcher.failed(error);
    } finally {
      this.beating = false;
    }
  }
}
