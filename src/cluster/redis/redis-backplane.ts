import { BackplaneError, SignallingHubError } from '../../core/errors.js';
import type {
  Backplane,
  BackplaneHost,
  BackplaneState,
  BackplaneStatus,
  ClaimResult,
  Envelope,
  ForwardResult,
  NodeReply,
  ResumeResult,
} from '../../core/backplane.js';
import { encodeError, encodeLeave } from '../../protocol/encode.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { isWellFormed } from '../../protocol/utf8.js';
import { RedisBusyError, RedisOfflineError, RedisTimeoutError, type RedisClientLike, ScriptRunner, whenReady } from './client.js';
import { decodeEnvelopes } from './envelope-codec.js';
import { ForwardBatcher } from './forward-batcher.js';
import { Keys } from './keys.js';
import { NodeLease } from './node-lease.js';
import { type RedisBackplaneOptions, type ResolvedRedisBackplaneOptions, resolveRedisBackplaneOptions } from './options.js';
import {
  encodeNodeAnswer,
  encodeNodeRequest,
  MAX_NODE_PAYLOAD,
  type NodeRequest,
  type ResumeGranted,
  type ResumeRequest,
  decodeControl,
  encodeGrant,
  encodeHanded,
  encodeRefused,
  encodeRequest,
  isControl,
} from './resume-codec.js';
import { CLAIM, HAND_OVER, HAND_OVER_CHECK, LEAVE, RELEASE, RESUME_REQUEST } from './scripts.js';

/** Names per Lua call when many are claimed or released at once, so that no call holds Redis for long. */
const BATCH = 500;

const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };
const NOT_FOUND: ForwardResult = { delivered: false, reason: 'not-found' };

const NODE_UNAVAILABLE: NodeReply = { delivered: false, reason: 'unavailable' };
const NODE_NOT_FOUND: NodeReply = { delivered: false, reason: 'not-found' };
const NODE_TIMEOUT: NodeReply = { delivered: false, reason: 'timeout' };
const NOT_HELD: ResumeResult = { resumed: false, reason: 'not-held' };
const NOT_RESUMED: ResumeResult = { resumed: false, reason: 'unavailable' };

/** Envelopes held per name while it is handed over from this node; past it they are answered `unavailable`. */
const MAX_TRANSFER_QUEUE = 4096;
/** Resumes answered `unavailable` here whose grant may still come (remembered to give the name back). */
const MAX_LATE_RESUMES = 1024;

/** A resume this node asked another node for. */
interface PendingResume {
  readonly name: string;
  readonly claimId: string;
  settle(result: ResumeResult): void;
}

/** A hand-over of a name from this node to the node where it resumes. */
interface Transfer {
  readonly id: string;
  readonly name: string;
  /** This node's claim id of the name. */
  readonly claimId: string;
  /** The resuming node. */
  readonly to: string;
  readonly deadline: string;
  /** Envelopes for the name forwarded meanwhile: sent on once it is settled. */
  readonly queue: Array<{ envelope: Envelope; resolve: (result: ForwardResult) => void }>;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

/** CLAIM's answers other than the names taken. */
const NO_LEASE = -1;
const EXPIRED = -2;

/** {@link RedisBackplane.status}: the port's status and how much waits for Redis. */
export interface RedisBackplaneStatus extends BackplaneStatus {
  /** Commands sent and not answered yet (at most `maxInFlightCommands`). */
  readonly inFlightCommands: number;
  /** Their bytes (at most `maxInFlightBytes`, but for one control command larger than it). */
  readonly inFlightBytes: number;
}

/**
 * A {@link Backplane} through Redis: several hub processes share one name
 * space and relay offer, answer, candidate and leave to each other's peers.
 *
 * - Names are claimed atomically (a Lua script: exactly one of racing logins
 *   on any nodes wins) and tied to this node's lease, a key with a TTL that a
 *   heartbeat refreshes; a name whose node's lease lapsed counts as free.
 *   Each claim carries the login's claim id, and a release removes the name
 *   only under that id (fencing).
 * - Envelopes for peers on other nodes, gathered per event-loop turn, go
 *   through one Lua call that finds each holder's node and PUBLISHes once
 *   per node: one round trip on one connection, so one sender's messages
 *   stay in order. Delivery is at most once.
 * - Each heartbeat checks the leases of the nodes this node's peers are in
 *   calls with; when one lapses, those peers hear `leave`.
 * - A resumable peer dropped here can resume on another node: that node asks
 *   this one over its channel, and one Lua call here moves the claim and
 *   publishes the held relays and calls to it, so that relays sent after the
 *   move arrive after them (see {@link RedisBackplane.resume}).
 * - While Redis is unreachable, or too many commands already wait for it,
 *   claims and cross-node sends are answered `unavailable` at once; relaying
 *   between peers of one node goes on. When Redis is back (even empty), the
 *   node re-asserts its lease and names; a name another node took meanwhile
 *   is lost here: its local holder is closed with 4410.
 *
 * Needs the `redis` package (≥ 5), an optional peer dependency. Failures are
 * reported through the hub's `error` event; it never writes to the console.
 *
 * @example
 * ```ts
 * import { SignallingHub } from 'signalling-hub';
 * import { RedisBackplane } from 'signalling-hub/redis';
 *
 * const hub = new SignallingHub({ backplane: new RedisBackplane({ url: 'redis://127.0.0.1:6379' }) });
 * await hub.ready; // connected to Redis
 * ```
 */
export class RedisBackplane implements Backplane {
  /** This node's id, unique in the cluster. */
  readonly nodeId: string;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ResolvedRedisBackplaneOptions>;
  private readonly keys: Keys;
  /** Tells this process's lease from a leftover one of an earlier process with the same id. */
  private readonly token = globalThis.crypto.randomUUID();
  private host: BackplaneHost | undefined;
  private client: RedisClientLike | undefined;
  private subscriber: RedisClientLike | undefined;
  private runner: ScriptRunner | undefined;
  private batcher: ForwardBatcher | undefined;
  private lease: NodeLease | undefined;
  private detach: Array<() => void> = [];
  /** Whether `client` was created here (and is closed here). */
  private ownsClient = false;
  private started = false;
  private closed = false;
  private state: BackplaneState = 'connecting';
  /** Whether each connection is up, as its events last said. */
  private commandUp = false;
  private subscriberUp = false;
  /** The last heartbeat was sent and not answered in time (Redis stalled with the connection open). */
  private beatFailing = false;
  /** Names this node has claimed or is claiming, with their claim ids: what it re-asserts when Redis lost them. */
  private readonly held = new Map<string, string>();
  /** Claims that may have taken effect although they were not confirmed (timed out, or released while Redis was away): released, fenced by their id, after the next heartbeat. */
  private readonly unreleased = new Map<string, string>();
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  /** A re-assertion is owed: one failed, or a heartbeat's answer was lost (it may have re-created a lapsed lease unseen). */
  private syncPending = false;
  /** Busy and timeout errors are reported once until Redis answers a heartbeat again. */
  private busyReported = false;
  private timeoutReported = false;
  /** Resumes asked of other nodes and not answered yet, by request id. */
  private readonly resumes = new Map<string, PendingResume>();
  /** Requests sent to other nodes ({@link sendToNode}) and not answered yet, by request id. */
  private readonly nodeRequests = new Map<string, (reply: NodeReply) => void>();
  /** Resumes answered `unavailable` here whose grant may still come, by request id. */
  private readonly lateResumes = new Map<string, { name: string; claimId: string; timer: ReturnType<typeof setTimeout> }>();
  /** Names being resumed here (name → claim id): a re-assertion neither claims nor releases them. */
  private readonly resuming = new Map<string, string>();
  /** Envelopes for names just granted here, held until the resuming login has joined (the next turn). */
  private readonly arriving = new Map<string, Envelope[]>();
  /** Hand-overs from this node, by name. */
  private readonly transfers = new Map<string, Transfer>();

  constructor(options: RedisBackplaneOptions = {}) {
    this.options = resolveRedisBackplaneOptions(options);
    this.nodeId = this.options.nodeId;
    this.keys = new Keys(this.options.keyPrefix, this.nodeId);
  }

  /**
   * Connects (the hub calls it; `hub.ready` is its promise). Resolves once
   * Redis has been reached, the subscription is on and the lease is taken;
   * until then claims are answered `unavailable`. Rejects with a
   * `BackplaneError` if that takes longer than `startTimeout` (Redis down or
   * frozen), if the node id is held by another live process, or if `close()`
   * comes first; the connections it opened are closed then.
   */
  async start(host: BackplaneHost): Promise<void> {
    if (this.host !== undefined) throw new BackplaneError('RedisBackplane.start() was called twice: a backplane serves one hub');
    this.host = host;
    host.stateChanged(this.state);
    const { options } = this;
    let client = options.client;
    if (client === undefined) {
      // Loaded here, not at the top, so that importing this module (the CLI
      // does) does not need `redis` installed until a backplane starts.
      const { createClient } = await import('redis');
      if (this.closed) throw new BackplaneError('RedisBackplane was closed before it started');
      client = createClient({
        url: options.url,
        // Commands fail at once while Redis is away instead of piling up and
        // being replayed late (socket.io-redis-adapter users lose packets
        // either way; we would rather say so at once).
        disableOfflineQueue: true,
        socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, options.reconnectMaxDelay) },
      });
      this.ownsClient = true;
    }
    this.client = client;
    const runner = (this.runner = new ScriptRunner(
      client,
      options.commandTimeout,
      options.maxInFlightCommands,
      options.maxInFlightBytes,
    ));
    this.batcher = new ForwardBatcher(runner, this.keys.prefix, this.nodeId, (error) => this.reportCommandError(error));
    const subscriber = (this.subscriber = client.duplicate());
    this.lease = new NodeLease(
      runner,
      this.keys,
      this.nodeId,
      this.token,
      options.leaseTtl,
      options.heartbeatInterval,
      options.reapBatch,
      options.commandTimeout,
      {
        watched: () => host.remoteNodes(),
        lost: (state) => {
          if (state === 2)
            this.report(new BackplaneError(`Another process holds node id ${this.nodeId}: node ids must be unique`));
          else void this.resync();
        },
        nodeDown: (nodeId) => host.nodeDown(nodeId),
        failed: (error) => {
          if (!(error instanceof RedisOfflineError) && !(error instanceof RedisBusyError)) {
            // Sent but not answered in time: Redis may still run it, and if the
            // lease had lapsed, re-create it without this node ever seeing state 0.
            this.beatFailing = true;
            this.syncPending = true;
            this.updateState();
          }
          this.reportCommandError(error);
        },
        beat: () => {
          this.beatFailing = false;
          this.timeoutReported = false;
          if (!runner.forwardsBlocked) this.busyReported = false;
          this.updateState();
          if (this.syncPending) void this.resync();
          this.retryReleases();
        },
      },
    );
    this.detach.push(
      this.watch(client, 'command', () => {
        if (!this.started) return;
        this.lease!.connected();
        // First on the fresh connection, so that the EVALSHAs behind it find their scripts.
        runner.load().catch((error: unknown) => this.reportCommandError(error));
        void this.resync();
      }),
      this.watch(subscriber, 'subscriber', () => {}),
    );
    let lastFailure: unknown;
    const failed = (cause: unknown) => (lastFailure = cause);
    client.on('error', failed);
    subscriber.on('error', failed);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = lastFailure === undefined ? 'no answer' : `last failure: ${messageOf(lastFailure)}`;
        const where = options.client === undefined ? ` at ${shownUrl(options.url)}` : '';
        reject(
          new BackplaneError(
            `Could not join the cluster: Redis${where} was not reached within startTimeout (${options.startTimeout} ms; ${why})`,
            lastFailure,
          ),
        );
      }, options.startTimeout);
    });
    const joining = this.join(client, subscriber, runner);
    // Once timed out, the join is cut short by close(); its own failure is not news.
    joining.catch(() => {});
    try {
      await Promise.race([joining, timedOut]);
    } catch (error) {
      // Nothing is left running: the connections this backplane made are closed.
      await this.close();
      subscriber.destroy();
      if (this.ownsClient) client.destroy();
      // One error type for every failed start; a Redis error stays its cause.
      throw error instanceof BackplaneError
        ? error
        : new BackplaneError(`Could not join the cluster: ${messageOf(error)}`, error);
    } finally {
      clearTimeout(timer);
      client.off('error', failed);
      subscriber.off('error', failed);
    }
    this.started = true;
    this.updateState();
    this.lease.start();
  }

  /** Reaches Redis, loads the scripts, subscribes and takes the lease (start() bounds it in time). */
  private async join(client: RedisClientLike, subscriber: RedisClientLike, runner: ScriptRunner): Promise<void> {
    const stillOpen = () => {
      if (this.closed) throw new BackplaneError('RedisBackplane was closed before it started');
    };
    await whenReady(client);
    this.commandUp = true;
    stillOpen();
    await runner.load();
    stillOpen();
    await subscriber.connect();
    this.subscriberUp = true;
    stillOpen();
    // node-redis subscribes again by itself after every reconnection.
    await subscriber.subscribe(this.keys.channel, (message) => this.receive(message));
    stillOpen();
    if ((await this.lease!.refresh()) === 2) {
      throw new BackplaneError(
        `Node id ${this.nodeId} is held by a live node; wait ${this.options.leaseTtl} ms or pick another id`,
      );
    }
    stillOpen();
    this.lease!.connected();
    // A node restarted with a fixed id may find names of its former self.
    await this.resync();
    stillOpen();
  }

  /**
   * Claims `name` for this node under `claimId`: exactly one of racing claims
   * on any nodes gets `claimed`. A later claim of the name on this node
   * replaces the earlier one's id.
   */
  async claim(name: string, claimId: string): Promise<ClaimResult> {
    // UTF-8 would turn a lone surrogate into U+FFFD: two names, one key. The hub refuses such names first.
    if (!isWellFormed(name)) throw new BackplaneError(`Cannot claim ${JSON.stringify(name)}: names must be well-formed Unicode`);
    const runner = this.runner;
    if (this.closed || !this.started || runner === undefined || !runner.ready) return 'unavailable';
    this.held.set(name, claimId);
    try {
      let result = await this.claimNames([[name, claimId]]);
      if (result === NO_LEASE) {
        // This node's lease had lapsed, so its other names may be gone too: re-assert them all first.
        this.forget(name, claimId);
        await this.resync();
        if (this.closed) return 'unavailable';
        this.held.set(name, claimId);
        result = await this.claimNames([[name, claimId]]);
      }
      if (typeof result === 'number') {
        this.forget(name, claimId);
        return 'unavailable';
      }
      // Either way no earlier claim of this node on the name is left in Redis.
      this.unreleased.delete(name);
      if (result.length === 0) return 'claimed';
      this.forget(name, claimId);
      return 'taken';
    } catch (error) {
      this.forget(name, claimId);
      // A claim that was sent may still happen in Redis (within its deadline): give it back later.
      if (!(error instanceof RedisOfflineError) && !(error instanceof RedisBusyError)) this.unreleased.set(name, claimId);
      this.reportCommandError(error);
      return 'unavailable';
    }
  }

  /**
   * Gives `name` back if Redis still holds it under `claimId`. Fire and
   * forget; a release lost while Redis is away or slow is redone when it answers.
   */
  release(name: string, claimId: string): void {
    this.forget(name, claimId);
    if (this.closed) return;
    if (this.runner === undefined || !this.runner.ready) {
      this.unreleased.set(name, claimId);
      return;
    }
    this.releaseNames([[name, claimId]]).catch((error: unknown) => {
      if (this.held.get(name) !== claimId) this.unreleased.set(name, claimId);
      this.reportCommandError(error);
    });
  }

  /**
   * Sends an envelope to the node holding `envelope.to`: `not-found` when no
   * live node holds it, `unavailable` when Redis is unreachable, too much
   * already waits for it, or the holder's subscription is down. At most
   * once; in order per sender.
   */
  forward(envelope: Envelope): Promise<ForwardResult> {
    // A name with a lone surrogate can be held by nobody; in UTF-8 it would reach the U+FFFD one.
    if (!isWellFormed(envelope.to)) return Promise.resolve(NOT_FOUND);
    if (this.transfers.size > 0) {
      // A name being handed over (the core re-forwards what reaches its holder meanwhile): sent once the move is settled.
      const transfer = this.transfers.get(envelope.to);
      if (transfer !== undefined) {
        if (transfer.queue.length >= MAX_TRANSFER_QUEUE) return Promise.resolve(UNAVAILABLE);
        return new Promise((resolve) => transfer.queue.push({ envelope, resolve }));
      }
    }
    const runner = this.runner;
    if (this.closed || runner === undefined || !runner.ready) return Promise.resolve(UNAVAILABLE);
    if (runner.forwardsBlocked) {
      this.reportCommandError(new RedisBusyError(runner.inFlightCommands, runner.inFlightBytes));
      return Promise.resolve(UNAVAILABLE);
    }
    // Sent at the end of this event-loop turn with the others forwarded in it.
    return this.batcher!.add(envelope);
  }

  /**
   * Resumes `name`, held by a resumable peer on another node, for a login
   * here under `claimId`: one Lua call finds the holder's node and PUBLISHes
   * the request on its channel; that node checks `token`, moves the claim
   * here and PUBLISHes the grant in one Lua call. `not-held` when no live
   * node (or this one) holds the name; `refused` when the holder refused;
   * `unavailable` when Redis or the holder did not answer within two
   * `commandTimeout`s (the move then cannot take effect any more, but for a
   * grant already on its way: see docs/CLUSTER.md).
   */
  resume(name: string, token: string, claimId: string): Promise<ResumeResult> {
    if (!isWellFormed(name)) throw new BackplaneError(`Cannot resume ${JSON.stringify(name)}: names must be well-formed Unicode`);
    const runner = this.runner;
    if (this.closed || !this.started || runner === undefined || !runner.ready) return Promise.resolve(NOT_RESUMED);
    if (runner.controlBlocked) {
      this.reportCommandError(new RedisBusyError(runner.inFlightCommands, runner.inFlightBytes));
      return Promise.resolve(NOT_RESUMED);
    }
    const id = globalThis.crypto.randomUUID();
    const wait = 2 * this.options.commandTimeout;
    // The hand-over must happen well before this node gives up waiting, so that its grant is not late.
    const deadline = runner.deadline(this.options.commandTimeout / 2);
    const request = encodeRequest({ id, node: this.nodeId, name, token, claim: claimId, deadline });
    return new Promise<ResumeResult>((resolve) => {
      const settle = (result: ResumeResult) => {
        if (!this.resumes.delete(id)) return;
        clearTimeout(timer);
        if (this.resuming.get(name) === claimId) this.resuming.delete(name);
        resolve(result);
      };
      const timer = setTimeout(() => {
        if (!this.resumes.has(id)) return;
        this.rememberLate(id, name, claimId);
        settle(NOT_RESUMED);
      }, wait);
      // Registered first: the grant may arrive on the subscription before the request's answer.
      this.resumes.set(id, { name, claimId, settle });
      this.resuming.set(name, claimId);
      runner.run(RESUME_REQUEST, [], [this.keys.prefix, this.nodeId, runner.deadline(), name, request]).then(
        (reply) => {
          if (reply === EXPIRED) return settle(NOT_RESUMED);
          const [holder, receivers] = reply as [string, number];
          if (holder === '' || holder === this.nodeId) return settle(NOT_HELD);
          // The holder's subscription is down: nobody will answer.
          if (receivers === 0) settle(NOT_RESUMED);
        },
        (error: unknown) => {
          this.reportCommandError(error);
          // A request that timed out may still be published (within its deadline): its answer may still come.
          if (!(error instanceof RedisTimeoutError)) settle(NOT_RESUMED);
        },
      );
    });
  }

  /**
   * Sends `payload` on `channel` to node `nodeId`'s host and waits for its
   * answer: PUBLISHed as a control message on the node's channel, answered
   * on this node's. `not-found` when no subscriber listens there (the node
   * is gone), `unavailable` when Redis is not reachable, `timeout` after
   * `timeoutMs` (default two `commandTimeout`s) without an answer.
   */
  sendToNode(
    nodeId: string,
    channel: string,
    payload: string,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<NodeReply> {
    if (payload.length > MAX_NODE_PAYLOAD || !isWellFormed(payload)) {
      throw new BackplaneError(
        `Cannot send to node ${nodeId}: the payload must be well-formed text of at most ${MAX_NODE_PAYLOAD} characters`,
      );
    }
    const runner = this.runner;
    if (this.closed || !this.started || runner === undefined || !runner.ready) return Promise.resolve(NODE_UNAVAILABLE);
    const id = globalThis.crypto.randomUUID();
    const message = encodeNodeRequest({ id, node: this.nodeId, channel, payload });
    return new Promise<NodeReply>((resolve) => {
      const settle = (reply: NodeReply) => {
        if (!this.nodeRequests.delete(id)) return;
        clearTimeout(timer);
        resolve(reply);
      };
      const timer = setTimeout(() => settle(NODE_TIMEOUT), options.timeoutMs ?? 2 * this.options.commandTimeout);
      this.nodeRequests.set(id, settle);
      runner.command(['PUBLISH', this.keys.channelOf(nodeId), message]).then(
        (receivers) => {
          if (receivers === 0) settle(NODE_NOT_FOUND);
        },
        (error: unknown) => {
          this.reportCommandError(error);
          settle(NODE_UNAVAILABLE);
        },
      );
    });
  }

  /**
   * Health, for `hub.stats()`, `/readyz` and metrics. `connected` means both
   * Redis connections are up and the last heartbeat was answered in time;
   * `disconnected`, that one is down or Redis stalls (claims and cross-node
   * sends are then answered `unavailable`).
   */
  status(): RedisBackplaneStatus {
    return {
      state: this.state,
      roundTripMs: this.lease?.roundTripMs,
      inFlightCommands: this.runner?.inFlightCommands ?? 0,
      inFlightBytes: this.runner?.inFlightBytes ?? 0,
    };
  }

  /** Ids of the nodes whose lease is current. Rejects while Redis is unreachable. */
  async listNodes(): Promise<string[]> {
    const runner = this.connected();
    const ids = (await runner.command(['SMEMBERS', this.keys.nodes])) as string[];
    const alive = await Promise.all(ids.map((id) => runner.command(['EXISTS', this.keys.leaseOf(id)])));
    return ids.filter((_, index) => alive[index] === 1);
  }

  /**
   * Every name logged in on a live node of the cluster, mapped to its node id:
   * cluster-wide presence for dashboards and admin tools (it reads every
   * name, so do not call it per message). Rejects while Redis is unreachable.
   */
  async listNames(): Promise<Map<string, string>> {
    const runner = this.connected();
    const nodes = await this.listNodes();
    const sets = await Promise.all(nodes.map((id) => runner.command(['SMEMBERS', this.keys.namesOf(id)])));
    const names = new Map<string, string>();
    nodes.forEach((id, index) => {
      for (const name of sets[index] as string[]) names.set(name, id);
    });
    return names;
  }

  /**
   * Releases this node's names and lease, then closes the connections it
   * created (a given `client` stays open; its duplicate is closed). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    // Queued envelopes (the departing peers' `leave`s among them) go out before LEAVE.
    this.batcher?.flush();
    this.closed = true;
    this.lease?.stop();
    const runner = this.runner;
    if (this.started && runner?.ready) {
      try {
        await runner.run(LEAVE, [this.keys.lease, this.keys.names, this.keys.nodes], [this.nodeId, this.keys.prefix]);
      } catch (error) {
        // Not given back: the names stay taken until the lease lapses (leaseTtl).
        if (!(error instanceof RedisOfflineError)) this.report(error);
      }
    }
    this.held.clear();
    this.unreleased.clear();
    for (const pending of [...this.resumes.values()]) pending.settle(NOT_RESUMED);
    for (const settle of [...this.nodeRequests.values()]) settle(NODE_UNAVAILABLE);
    for (const late of this.lateResumes.values()) clearTimeout(late.timer);
    this.lateResumes.clear();
    this.arriving.clear();
    for (const transfer of this.transfers.values()) {
      transfer.done = true;
      clearTimeout(transfer.timer);
      for (const { resolve } of transfer.queue) resolve(UNAVAILABLE);
    }
    this.transfers.clear();
    // Everything sent before LEAVE has been answered (one connection, in order), so nothing is cut off.
    this.subscriber?.destroy();
    if (this.ownsClient) this.client?.destroy();
    for (const detach of this.detach) detach();
    this.detach = [];
    this.updateState();
  }

  /** Reports a client's connection errors once per outage (node-redis emits one per reconnection attempt) and tracks its state. */
  private watch(client: RedisClientLike, which: 'command' | 'subscriber', onReady: () => void): () => void {
    let down = false;
    const mark = (up: boolean) => {
      if (which === 'command') this.commandUp = up;
      else this.subscriberUp = up;
      this.updateState();
    };
    const error = (cause: unknown) => {
      if (this.closed) return;
      // Some errors (a reply that could not be parsed) leave the connection up.
      const up = client.isReady;
      mark(up);
      if (down) return;
      down = !up;
      this.report(new BackplaneError(`The Redis ${which} connection failed: ${messageOf(cause)}`, cause));
    };
    const lost = () => mark(false);
    const ready = () => {
      down = false;
      mark(true);
      onReady();
    };
    client.on('error', error);
    client.on('ready', ready);
    client.on('reconnecting', lost);
    client.on('end', lost);
    return () => {
      // Our own clients keep a listener: node-redis throws on an unhandled 'error'.
      if (client === this.subscriber || this.ownsClient) return;
      client.off('error', error);
      client.off('ready', ready);
      client.off('reconnecting', lost);
      client.off('end', lost);
    };
  }

  private updateState(): void {
    let next: BackplaneState;
    if (this.closed) next = 'closed';
    else if (!this.started) return;
    else {
      const up = this.commandUp && this.subscriberUp && this.client!.isReady && this.subscriber!.isReady && !this.beatFailing;
      next = up ? 'connected' : 'disconnected';
    }
    if (next === this.state) return;
    this.state = next;
    this.host?.stateChanged(next);
  }

  private receive(text: string): void {
    if (isControl(text)) {
      this.control(text);
      return;
    }
    const envelopes = decodeEnvelopes(text);
    if (envelopes === undefined) {
      this.report(new BackplaneError(`Ignored a malformed envelope on ${this.keys.channel}`));
      return;
    }
    const host = this.host;
    // In the order sent; a peer that left meanwhile: dropped (at most once).
    for (const envelope of envelopes) {
      if (this.arriving.size > 0) {
        const waiting = this.arriving.get(envelope.to);
        if (waiting !== undefined) {
          waiting.push(envelope);
          continue;
        }
      }
      host?.deliver(envelope);
    }
  }

  /** A resume control message on this node's channel (see resume-codec.ts). */
  private control(text: string): void {
    const message = decodeControl(text);
    if (message === undefined) {
      this.report(new BackplaneError(`Ignored a malformed control message on ${this.keys.channel}`));
      return;
    }
    switch (message.t) {
      case 'resume':
        this.handOver(message);
        return;
      case 'resume-refused':
        // One for a request given up on already: nothing to do.
        this.resumes.get(message.id)?.settle({ resumed: false, reason: message.reason });
        return;
      case 'resume-grant':
        this.granted(message);
        return;
      case 'node-request':
        this.answerNode(message);
        return;
      case 'node-reply':
        // One given up on already (timed out): nothing to do.
        this.nodeRequests.get(message.id)?.({ delivered: true, reply: message.reply ?? undefined });
        return;
      case 'handed': {
        // Every envelope published here before the move has arrived: what reaches the name now goes to its new node.
        const transfer = this.transfers.get(message.name);
        if (transfer?.id === message.id) this.finishTransfer(transfer, true);
        return;
      }
    }
  }

  /** The holder's node handed a name over to this node: the resume succeeds. */
  private granted(message: ResumeGranted): void {
    const { id, name, claim, grant } = message;
    const pending = this.resumes.get(id);
    if (pending !== undefined && pending.name === name && pending.claimId === claim) {
      this.held.set(name, claim);
      this.unreleased.delete(name);
      // Envelopes published after the grant may be read before the login has joined: they wait for the next turn.
      if (!this.arriving.has(name)) {
        this.arriving.set(name, []);
        setImmediate(() => this.arrived(name));
      }
      pending.settle({ resumed: true, grant });
      return;
    }
    const late = this.lateResumes.get(id);
    if (late === undefined || late.name !== name || late.claimId !== claim) {
      this.report(new BackplaneError(`Ignored a resume grant for ${JSON.stringify(name)} that this node did not ask for`));
      return;
    }
    this.lateResumes.delete(id);
    clearTimeout(late.timer);
    this.abandon(name, claim, grant);
  }

  /** The resuming login has joined (or gone): what arrived for it meanwhile is delivered, in order. */
  private arrived(name: string): void {
    const waiting = this.arriving.get(name);
    this.arriving.delete(name);
    if (waiting === undefined) return;
    for (const envelope of waiting) this.host?.deliver(envelope);
  }

  /**
   * A grant that came after the login here was answered `unavailable`: the
   * peer cannot be resumed any more, so it ends as if its grace had run out.
   * The name is given back, its partners hear `leave`, and the senders of
   * the held relays hear `peer-gone`.
   */
  private abandon(name: string, claimId: string, grant: ResumeGranted['grant']): void {
    this.report(
      new BackplaneError(
        `The hand-over of ${name} arrived after its resume here was answered backplane-unavailable: the name is released and its call partners hear leave`,
      ),
    );
    this.release(name, claimId);
    const told = new Set<string>();
    for (const { kind, from, fromNode } of grant.parked) {
      if (kind === 'leave' || kind === 'message' || kind === 'moved' || from === '') continue;
      const key = `${fromNode}\t${from}`;
      if (told.has(key)) continue;
      told.add(key);
      const message = `${name} did not come back in time: a message held for it was not delivered`;
      this.tell(fromNode, {
        kind: 'message',
        from: '',
        fromNode: this.nodeId,
        to: from,
        frame: encodeError(ErrorCode.PeerGone, message, kind, name),
      });
    }
    const leave = encodeLeave(JSON.stringify(name));
    for (const [partner, node] of grant.partners) {
      this.tell(node, { kind: 'leave', from: name, fromNode: this.nodeId, to: partner, frame: leave });
    }
  }

  /** Sends an envelope of this node's own to a peer on `node` (this one included). */
  private tell(node: string, envelope: Envelope): void {
    if (node === this.nodeId) this.host?.deliver(envelope);
    else void this.forward(envelope);
  }

  private rememberLate(id: string, name: string, claimId: string): void {
    if (this.lateResumes.size >= MAX_LATE_RESUMES) {
      const [oldest, entry] = this.lateResumes.entries().next().value!;
      clearTimeout(entry.timer);
      this.lateResumes.delete(oldest);
    }
    // Long enough for a hand-over that was stuck in a stalled Redis (its deadline is far shorter).
    const timer = setTimeout(() => this.lateResumes.delete(id), Math.max(30_000, 10 * this.options.commandTimeout));
    timer.unref?.();
    this.lateResumes.set(id, { name, claimId, timer });
  }

  /**
   * Another node asks for a name held here. The host sets its holder aside
   * (or refuses); then one Lua call checks that the claim is still its
   * login's, moves it and PUBLISHes the grant to the resuming node. The move
   * is settled with the host once this node's subscription has seen the
   * marker the same call published (so every envelope sent here before the
   * move has been read and passed on), or once the call says it did not happen.
   */
  private handOver(request: ResumeRequest): void {
    const host = this.host;
    const runner = this.runner;
    if (host === undefined || runner === undefined || this.closed) return;
    if (request.node === this.nodeId) {
      this.report(new BackplaneError(`Ignored a resume request for ${JSON.stringify(request.name)} from this node itself`));
      return;
    }
    const offered = host.handOverRequested(request.name, request.token);
    if (offered === undefined) {
      this.refuse(request.node, request.id, 'refused');
      return;
    }
    const { name } = request;
    const grant = encodeGrant(request.id, name, request.claim, offered.grant);
    const limit = Math.floor(this.options.maxInFlightBytes / 4);
    const bytes = Buffer.byteLength(grant);
    if (bytes > limit) {
      this.report(
        new BackplaneError(
          `Cannot hand ${name} over to node ${request.node}: what is held for it takes ${bytes} bytes, more than maxInFlightBytes / 4 (${limit})`,
        ),
      );
      host.handOverSettled(name, false);
      this.refuse(request.node, request.id, 'unavailable');
      return;
    }
    const transfer: Transfer = {
      id: request.id,
      name,
      claimId: offered.claimId,
      to: request.node,
      deadline: request.deadline,
      queue: [],
      timer: undefined,
      done: false,
    };
    this.transfers.set(name, transfer);
    const args = [
      this.keys.prefix,
      this.nodeId,
      offered.claimId,
      request.node,
      request.claim,
      name,
      request.deadline,
      grant,
      encodeHanded(request.id, name),
      request.id,
    ];
    runner.run(HAND_OVER, [], args).then(
      (reply) => {
        if (transfer.done) return;
        if (Array.isArray(reply)) {
          // Moved. Nobody heard the marker (this node's subscription is down): nothing more will arrive for it.
          if (reply[1] === 0) this.finishTransfer(transfer, true);
          // The marker normally arrives about now; in case it was lost.
          else transfer.timer = setTimeout(() => this.finishTransfer(transfer, true), this.options.commandTimeout);
          return;
        }
        // 0: the claim is no longer this login's; -2: too late; -3, -4: the resuming node is gone or deaf.
        this.finishTransfer(transfer, false, reply === 0 ? 'refused' : 'unavailable');
      },
      (error: unknown) => {
        if (transfer.done) return;
        this.reportCommandError(error);
        if (error instanceof RedisOfflineError || error instanceof RedisBusyError) {
          // Not sent.
          this.finishTransfer(transfer, false, 'unavailable');
        } else {
          // Sent, answer lost: it may have taken effect, or still may until its deadline.
          this.checkTransfer(transfer);
        }
      },
    );
  }

  /** Asks Redis whether a hand-over whose answer was lost took effect, until it is certain. */
  private checkTransfer(transfer: Transfer): void {
    const again = () => {
      if (!transfer.done) transfer.timer = setTimeout(attempt, this.options.heartbeatInterval);
    };
    const attempt = () => {
      transfer.timer = undefined;
      if (transfer.done || this.closed) return;
      const runner = this.runner!;
      if (!runner.ready || runner.controlBlocked) return again();
      runner.run(HAND_OVER_CHECK, [], [this.keys.prefix, transfer.id, transfer.deadline]).then(
        (reply) => {
          if (transfer.done) return;
          if (reply === 1) this.finishTransfer(transfer, true);
          else if (reply === 0) this.finishTransfer(transfer, false, 'unavailable');
          else again();
        },
        (error: unknown) => {
          this.reportCommandError(error);
          again();
        },
      );
    };
    attempt();
  }

  /**
   * Settles a hand-over with the host and passes on what was forwarded to
   * the name meanwhile: to its new node, or, when it stayed here, to its holder.
   */
  private finishTransfer(transfer: Transfer, committed: boolean, refusal?: 'refused' | 'unavailable'): void {
    if (transfer.done) return;
    transfer.done = true;
    clearTimeout(transfer.timer);
    if (this.transfers.get(transfer.name) === transfer) this.transfers.delete(transfer.name);
    if (committed) this.forget(transfer.name, transfer.claimId);
    this.host?.handOverSettled(transfer.name, committed);
    if (!committed && refusal !== undefined) this.refuse(transfer.to, transfer.id, refusal);
    for (const { envelope, resolve } of transfer.queue) {
      if (committed) {
        void this.forward(envelope).then(resolve);
      } else if (envelope.fromNode === this.nodeId && (envelope.kind === 'offer' || envelope.kind === 'answer')) {
        // Its sender is told, rather than a call being recorded with this node's id for a local partner.
        resolve(UNAVAILABLE);
      } else {
        const delivered = this.host?.deliver(envelope) === true;
        resolve(delivered ? { delivered: true, node: this.nodeId } : NOT_FOUND);
      }
    }
  }

  /** A request from another node: the host answers it, and the answer goes to that node's channel. */
  private answerNode(request: NodeRequest): void {
    const host = this.host;
    if (request.node === this.nodeId) {
      this.report(new BackplaneError(`Ignored a node request on ${JSON.stringify(request.channel)} from this node itself`));
      return;
    }
    const send = (reply: string | undefined) => {
      const runner = this.runner;
      if (runner === undefined || !runner.ready || this.closed) return;
      if (reply !== undefined && (reply.length > MAX_NODE_PAYLOAD || !isWellFormed(reply))) {
        this.report(new BackplaneError(`Dropped an answer on ${JSON.stringify(request.channel)}: too large or not well-formed`));
        reply = undefined;
      }
      runner
        .command(['PUBLISH', this.keys.channelOf(request.node), encodeNodeAnswer(request.id, reply)])
        .catch((error: unknown) => this.reportCommandError(error));
    };
    let answer: Promise<string | undefined> | string | undefined;
    try {
      answer = host?.nodeMessage?.(request.node, request.channel, request.payload);
    } catch (error) {
      this.report(error);
      send(undefined);
      return;
    }
    if (typeof answer === 'object') {
      answer.then(send, (error: unknown) => {
        this.report(error);
        send(undefined);
      });
    } else send(answer);
  }

  /** Answers a resume request negatively on the resuming node's channel. */
  private refuse(node: string, id: string, reason: 'refused' | 'unavailable'): void {
    const runner = this.runner;
    if (runner === undefined || !runner.ready || this.closed) return;
    runner
      .command(['PUBLISH', this.keys.channelOf(node), encodeRefused(id, reason)])
      .catch((error: unknown) => this.reportCommandError(error));
  }

  /** Drops `name` from the held names if it is still held under `claimId`. */
  private forget(name: string, claimId: string): void {
    if (this.held.get(name) === claimId) this.held.delete(name);
  }

  /** The names live nodes hold, {@link NO_LEASE} when this node's lease is gone, {@link EXPIRED} when Redis ran it too late. */
  private async claimNames(
    claims: ReadonlyArray<readonly [string, string]>,
  ): Promise<string[] | typeof NO_LEASE | typeof EXPIRED> {
    const args = [this.nodeId, this.keys.prefix, this.runner!.deadline()];
    for (const [name, claimId] of claims) args.push(name, claimId);
    const reply = await this.runner!.run(CLAIM, [this.keys.lease, this.keys.names], args);
    return reply === NO_LEASE || reply === EXPIRED ? reply : (reply as string[]);
  }

  /** Releases names held under the given claim ids (`''`: under any claim of this node). */
  private releaseNames(claims: ReadonlyArray<readonly [string, string]>): Promise<unknown> {
    const args = [this.nodeId, this.keys.prefix];
    for (const [name, claimId] of claims) args.push(name, claimId);
    return this.runner!.run(RELEASE, [this.keys.names], args);
  }

  /**
   * Re-asserts the lease and every held name, closes (4410) the local
   * holders of names another node took meanwhile, and releases names Redis
   * still has for this node but it no longer holds.
   */
  private resync(): Promise<void> {
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncPending = false;
    const run = async () => {
      try {
        do {
          this.syncAgain = false;
          await this.syncOnce();
        } while (this.syncAgain && !this.closed);
      } catch (error) {
        // Tried again after the next heartbeat Redis answers.
        this.syncPending = true;
        this.reportCommandError(error);
      } finally {
        this.syncing = undefined;
      }
    };
    return (this.syncing = run());
  }

  private async syncOnce(): Promise<void> {
    const runner = this.runner!;
    if (this.closed || !runner.ready) return;
    if ((await this.lease!.refresh()) === 2) {
      this.report(new BackplaneError(`Another process holds node id ${this.nodeId}: node ids must be unique`));
      return;
    }
    // Only logged-in holders are closed for a lost name; a login still claiming hears `taken` from its own claim.
    const local = new Map<string, string>();
    for (const [name, claimId] of this.host!.localClaims()) {
      local.set(name, claimId);
      this.held.set(name, claimId);
    }
    const claims = [...this.held];
    for (let start = 0; start < claims.length; start += BATCH) {
      const batch = claims.slice(start, start + BATCH);
      const taken = await this.claimNames(batch);
      if (taken === NO_LEASE) {
        this.syncAgain = true;
        return;
      }
      if (taken === EXPIRED) throw new RedisTimeoutError('EVALSHA', this.options.commandTimeout);
      if (taken.length === 0) continue;
      const ids = new Map(batch);
      for (const name of taken) {
        const claimId = ids.get(name)!;
        this.forget(name, claimId);
        if (local.get(name) !== claimId) continue;
        // Another node won the name while this one could not assert it (Redis
        // or this node stalled past the lease, or Redis lost its data): one holder must remain.
        this.report(
          new BackplaneError(
            `Name ${name} was claimed on another node while this node could not reach Redis: its holder here is closed (4410)`,
          ),
        );
        this.host!.claimLost(name, claimId);
      }
    }
    const recorded = (await runner.command(['SMEMBERS', this.keys.names])) as string[];
    // A name being resumed here may already be this node's in Redis before its grant has arrived.
    const stale = recorded.filter((name) => !this.held.has(name) && !this.resuming.has(name)).map((name) => [name, ''] as const);
    for (let start = 0; start < stale.length; start += BATCH) await this.releaseNames(stale.slice(start, start + BATCH));
  }

  private retryReleases(): void {
    if (this.unreleased.size === 0) return;
    const claims = [...this.unreleased].filter(([name, claimId]) => this.held.get(name) !== claimId);
    this.unreleased.clear();
    for (let start = 0; start < claims.length; start += BATCH) {
      const batch = claims.slice(start, start + BATCH);
      this.releaseNames(batch).catch((error: unknown) => {
        for (const [name, claimId] of batch) if (this.held.get(name) !== claimId) this.unreleased.set(name, claimId);
        this.reportCommandError(error);
      });
    }
  }

  private connected(): ScriptRunner {
    if (this.runner === undefined || !this.runner.ready || this.closed) throw new RedisOfflineError();
    return this.runner;
  }

  /**
   * A command failure. "Not connected" is already told once per outage by
   * the client's error event; "busy" and timeouts once until Redis answers a
   * heartbeat again (a stall would otherwise report every message).
   */
  private reportCommandError(error: unknown): void {
    if (error instanceof RedisOfflineError || this.closed) return;
    if (error instanceof RedisBusyError) {
      if (this.busyReported) return;
      this.busyReported = true;
    } else if (error instanceof RedisTimeoutError) {
      if (this.timeoutReported) return;
      this.timeoutReported = true;
    }
    this.report(error);
  }

  private report(error: unknown): void {
    const reported =
      error instanceof SignallingHubError ? error : new BackplaneError(`Redis backplane failure: ${messageOf(error)}`, error);
    this.host?.error(reported);
  }
}

/** A Redis URL fit for an error message: no password. */
function shownUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
