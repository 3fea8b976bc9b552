import type { Envelope, ForwardDone, ForwardResult, NamePage } from '../../core/backplane.js';
import type { RelayType } from '../../protocol/messages.js';
import type { ClaimReply, ClusterBus, CommandOutcome, HandOverMove, HandOverReply, HandOverRequestReply } from '../bus.js';
import type { ScriptRunner } from './client.js';
import { RedisBusyError, RedisOfflineError, RedisTimeoutError } from './errors.js';
import type { ForwardBatcher } from './forward-batcher.js';
import type { Keys } from './keys.js';
import { listRemoteNames } from './name-listing.js';
import type { NodeLease } from './node-lease.js';
import { CLAIM, HAND_OVER, HAND_OVER_CHECK, RELEASE, RESUME_REQUEST } from './scripts.js';

const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };

/** The scripts' answer when Redis ran a command past its deadline. */
const EXPIRED = -2;
/** CLAIM's answer when this node's lease is gone. */
const NO_LEASE = -1;

/**
 * The cluster's bus on one Redis (or one slot of a Redis Cluster): a pub/sub channel per node and the Lua
 * scripts that check a claim and publish in one atomic step (scripts.ts).
 * Commands go through one {@link ScriptRunner}: one connection, so calls keep
 * their order, with in-flight caps and Redis-time deadlines.
 */
export class RedisBus implements ClusterBus {
  /** The node's room messages waiting for the end of the turn (set once rooms are wired). */
  roomsQueued: { flush(): void } | undefined;

  constructor(
    private readonly runner: ScriptRunner,
    private readonly batcher: ForwardBatcher,
    private readonly lease: NodeLease,
    private readonly keys: Keys,
    private readonly nodeId: string,
    /** A failure worth telling (the backplane reports busy ones once per stall). */
    private readonly failed: (error: unknown) => void,
  ) {}

  get ready(): boolean {
    return this.runner.ready;
  }

  congestion(): Error | undefined {
    const runner = this.runner;
    return runner.controlBlocked ? new RedisBusyError(runner.inFlightCommands, runner.inFlightBytes) : undefined;
  }

  deadline(extra?: number): string {
    return this.runner.deadline(extra);
  }

  outcomeOf(error: unknown): CommandOutcome {
    if (error instanceof RedisOfflineError || error instanceof RedisBusyError) return 'not-sent';
    return error instanceof RedisTimeoutError ? 'unknown' : 'failed';
  }

  async claim(claims: ReadonlyArray<readonly [string, string]>): Promise<ClaimReply> {
    const args = [this.nodeId, this.keys.prefix, this.runner.deadline()];
    for (const [name, claimId] of claims) args.push(name, claimId);
    const reply = await this.runner.run(CLAIM, [this.keys.lease, this.keys.names], args);
    if (reply === NO_LEASE) return 'lapsed';
    return reply === EXPIRED ? 'expired' : (reply as string[]);
  }

  release(claims: ReadonlyArray<readonly [string, string]>): Promise<unknown> {
    const args = [this.nodeId, this.keys.prefix];
    for (const [name, claimId] of claims) args.push(name, claimId);
    return this.runner.run(RELEASE, [this.keys.names], args);
  }

  async ownNames(): Promise<readonly string[]> {
    return (await this.runner.command(['SMEMBERS', this.keys.names])) as string[];
  }

  namePage(after: string, limit: number): Promise<NamePage> {
    return listRemoteNames(this.runner, this.keys, this.nodeId, after, limit);
  }

  async refresh(): Promise<boolean> {
    return (await this.lease.refresh()) !== 2;
  }

  forward(envelope: Envelope): Promise<ForwardResult> {
    return new Promise((resolve) =>
      this.send(envelope.kind, envelope.fromNode, envelope.from, envelope.to, envelope.bytes ?? envelope.frame, resolve),
    );
  }

  forwardRelay(kind: RelayType, from: string, to: string, frame: string | Uint8Array, done: ForwardDone): void {
    this.send(kind, this.nodeId, from, to, frame, done);
  }

  private send(
    kind: Envelope['kind'],
    fromNode: string,
    from: string,
    to: string,
    frame: string | Uint8Array,
    done: ForwardDone,
  ): void {
    const runner = this.runner;
    if (runner.forwardsBlocked) {
      this.failed(new RedisBusyError(runner.inFlightCommands, runner.inFlightBytes));
      queueMicrotask(() => done(UNAVAILABLE));
      return;
    }
    // Room messages queued before it go first (one sender's order across both).
    this.roomsQueued?.flush();
    // Sent with the others forwarded in this turn (or behind the call waiting for Redis, see ForwardBatcher).
    this.batcher.add(kind, fromNode, from, to, frame, done);
  }

  async publish(nodeId: string, text: string): Promise<number> {
    return (await this.runner.command([this.runner.publishCommand, this.keys.channelOf(nodeId), text])) as number;
  }

  async requestHandOver(name: string, request: string): Promise<HandOverRequestReply> {
    const runner = this.runner;
    const reply = await runner.run(RESUME_REQUEST, [], [this.keys.prefix, this.nodeId, runner.deadline(), name, request]);
    if (reply === EXPIRED) return 'expired';
    const [holder, receivers] = reply as [string, number];
    return { holder, receivers };
  }

  async handOver(move: HandOverMove): Promise<HandOverReply> {
    const args = [
      this.keys.prefix,
      this.nodeId,
      move.claimId,
      move.to,
      move.toClaimId,
      move.name,
      move.deadline,
      move.grant,
      move.marker,
      move.id,
    ];
    const reply = await this.runner.run(HAND_OVER, [], args, 'grant');
    if (Array.isArray(reply)) return { moved: true, markerHeard: reply[1] !== 0 };
    // 0: the claim is no longer this login's; -2: too late; -3, -4: the resuming node is gone or deaf.
    const reason = reply === 0 ? 'not-held' : reply === EXPIRED ? 'expired' : reply === -3 ? 'gone' : 'deaf';
    return { moved: false, reason };
  }

  async handedOver(id: string, deadline: string): Promise<boolean | undefined> {
    const reply = await this.runner.run(HAND_OVER_CHECK, [], [this.keys.prefix, id, deadline]);
    return reply === 1 ? true : reply === 0 ? false : undefined;
  }
}
