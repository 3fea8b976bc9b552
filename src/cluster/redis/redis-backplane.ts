import { BackplaneError } from '../../core/errors.js';
import type { BackplaneHost, BackplaneState, BackplaneStatus } from '../../core/backplane.js';
import { ClusterBackplane, messageOf } from '../cluster-backplane.js';
import { type RedisClientLike, ScriptRunner, whenReady } from './client.js';
import { type ConnectionWatcher, createRedisClient, shownUrl, watchConnection, withinStartTimeout } from './connections.js';
import { RedisRooms } from './redis-rooms.js';
import { RedisBusyError, RedisOfflineError, RedisTimeoutError } from './errors.js';
import { ForwardBatcher } from './forward-batcher.js';
import { Keys } from './keys.js';
import { NodeLease } from './node-lease.js';
import { type RedisBackplaneOptions, type ResolvedRedisBackplaneOptions, resolveRedisBackplaneOptions } from './options.js';
import { RedisBus } from './redis-bus.js';
import { LEAVE } from './scripts.js';

/** {@link RedisBackplane.status}: the port's status and how much waits for Redis. */
export interface RedisBackplaneStatus extends BackplaneStatus {
  /** Commands sent and not answered yet (at most `maxInFlightCommands`). */
  readonly inFlightCommands: number;
  /** Their bytes (at most `maxInFlightBytes`, but for one control command larger than it; hand-overs apart). */
  readonly inFlightBytes: number;
}

/**
 * A `Backplane` through Redis: several hub processes share one name
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
 *   move arrive after them (see `resume()`).
 * - While Redis is unreachable, or too many commands already wait for it,
 *   claims and cross-node sends are answered `unavailable` at once; relaying
 *   between peers of one node goes on. When Redis is back (even empty), the
 *   node re-asserts its lease and names; a name another node took meanwhile
 *   is lost here: its local holder is closed with 4410.
 *
 * The protocol between nodes is the same code as `MemoryCluster`'s (one
 * suite of tests runs over both); this class carries it over Redis: a
 * pub/sub channel per node, Lua scripts for the atomic steps, a lease per
 * node, and caps on what waits for Redis.
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
export class RedisBackplane extends ClusterBackplane {
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ResolvedRedisBackplaneOptions>;
  private readonly keys: Keys;
  /** Tells this process's lease from a leftover one of an earlier process with the same id. */
  private readonly token = globalThis.crypto.randomUUID();
  private client: RedisClientLike | undefined;
  private subscriber: RedisClientLike | undefined;
  private runner: ScriptRunner | undefined;
  private batcher: ForwardBatcher | undefined;
  private lease: NodeLease | undefined;
  private detach: Array<() => void> = [];
  /** Whether `client` was created here (and is closed here). */
  private ownsClient = false;
  /** Whether each connection is up, as its events last said. */
  private commandUp = false;
  private subscriberUp = false;
  /** The last heartbeat was sent and not answered in time (Redis stalled with the connection open). */
  private beatFailing = false;
  /** Busy and timeout errors are reported once until Redis answers a heartbeat again. */
  private busyReported = false;
  private timeoutReported = false;

  constructor(options: RedisBackplaneOptions = {}) {
    const resolved = resolveRedisBackplaneOptions(options);
    super(
      resolved.nodeId,
      {
        commandTimeout: resolved.commandTimeout,
        retryInterval: resolved.heartbeatInterval,
        // For a host that does not say what it holds at most; a hub does (see ClusterBackplane.start()).
        maxGrantBytes: Math.floor(resolved.maxInFlightBytes / 4),
        maxGrantBytesSource: 'maxInFlightBytes / 4',
      },
      'Redis',
    );
    this.options = resolved;
    this.keys = new Keys(resolved.keyPrefix, this.nodeId);
  }

  /**
   * Connects (the hub calls it; `hub.ready` is its promise). Resolves once
   * Redis has been reached, the subscription is on and the lease is taken;
   * until then claims are answered `unavailable`. Rejects with a
   * `BackplaneError` if that takes longer than `startTimeout` (Redis down or
   * frozen), if the node id is held by another live process, or if `close()`
   * comes first; the connections it opened are closed then.
   */
  override start(host: BackplaneHost): Promise<void> {
    return super.start(host);
  }

  /** @internal */
  protected async connectBus(): Promise<void> {
    const host = this.host!;
    const { options } = this;
    let client = options.client;
    if (client === undefined) {
      client = await createRedisClient(options.url, options.reconnectMaxDelay);
      if (this.closed) throw new BackplaneError('RedisBackplane was closed before it started');
      this.ownsClient = true;
    }
    this.client = client;
    const runner = (this.runner = new ScriptRunner(
      client,
      options.commandTimeout,
      options.maxInFlightCommands,
      options.maxInFlightBytes,
      this.grantLimit,
    ));
    const reportFailure = (error: unknown) => this.reportFailure(error);
    const batcher = (this.batcher = new ForwardBatcher(runner, this.keys.prefix, this.nodeId, reportFailure));
    const subscriber = (this.subscriber = client.duplicate());
    const lease = (this.lease = new NodeLease(
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
          else void this.claims.reassert();
        },
        nodeDown: (nodeId) => host.nodeDown(nodeId),
        failed: (error) => {
          if (!(error instanceof RedisOfflineError) && !(error instanceof RedisBusyError)) {
            // Sent but not answered in time: Redis may still run it, and if the
            // lease had lapsed, re-create it without this node ever seeing state 0.
            this.beatFailing = true;
            this.claims.owed = true;
            this.updateState();
          }
          this.reportFailure(error);
        },
        beat: () => {
          this.beatFailing = false;
          this.timeoutReported = false;
          if (!runner.forwardsBlocked) this.busyReported = false;
          this.updateState();
          if (this.claims.owed) void this.claims.reassert();
          this.claims.retryReleases();
        },
      },
    ));
    const bus = (this.bus = new RedisBus(runner, batcher, lease, this.keys, this.nodeId, reportFailure));
    this.roomBus = bus.roomsQueued = new RedisRooms(runner, batcher, this.keys, this.nodeId);
    const watcher: ConnectionWatcher = {
      closed: () => this.closed,
      changed: (role, up) => {
        if (role === 'command') this.commandUp = up;
        else this.subscriberUp = up;
        this.updateState();
      },
      report: (error) => this.report(error),
      ready: () => {},
    };
    this.detach.push(
      watchConnection(
        client,
        'command',
        {
          ...watcher,
          ready: () => {
            if (!this.started) return;
            lease.connected();
            // First on the fresh connection, so that the EVALSHAs behind it find their scripts.
            runner.load().catch(reportFailure);
            void this.claims.reassert();
          },
        },
        this.ownsClient,
      ),
      watchConnection(subscriber, 'subscriber', watcher, true),
    );
    const where = options.client === undefined ? ` at ${shownUrl(options.url)}` : '';
    try {
      await withinStartTimeout(this.join(client, subscriber, runner, lease), [client, subscriber], options.startTimeout, where);
    } catch (error) {
      // Nothing is left running: the connections this backplane made are closed.
      await this.close();
      subscriber.destroy();
      if (this.ownsClient) client.destroy();
      // One error type for every failed start; a Redis error stays its cause.
      throw error instanceof BackplaneError
        ? error
        : new BackplaneError(`Could not join the cluster: ${messageOf(error)}`, error);
    }
  }

  /** Reaches Redis, loads the scripts, subscribes and takes the lease (start() bounds it in time). */
  private async join(
    client: RedisClientLike,
    subscriber: RedisClientLike,
    runner: ScriptRunner,
    lease: NodeLease,
  ): Promise<void> {
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
    // As bytes: a batch of envelopes is read without turning all of it into text first.
    await subscriber.subscribe(this.keys.channel, (message) => this.receive(message), true);
    stillOpen();
    if ((await lease.refresh()) === 2) {
      throw new BackplaneError(
        `Node id ${this.nodeId} is held by a live node; wait ${this.options.leaseTtl} ms or pick another id`,
      );
    }
    stillOpen();
    lease.connected();
    // A node restarted with a fixed id may find names of its former self.
    await this.claims.reassert();
    stillOpen();
  }

  /** @internal */
  protected joined(): void {
    this.updateState();
    this.lease!.start();
  }

  /** @internal */
  protected closing(): void {
    // Queued envelopes (the departing peers' `leave`s among them) go out before LEAVE.
    this.batcher?.flush();
  }

  /** @internal */
  protected async leaveBus(): Promise<void> {
    this.lease?.stop();
    const runner = this.runner;
    if (!this.started || runner?.ready !== true) return;
    try {
      await runner.run(LEAVE, [this.keys.lease, this.keys.names, this.keys.nodes], [this.nodeId, this.keys.prefix]);
    } catch (error) {
      // Not given back: the names stay taken until the lease lapses (leaseTtl).
      if (!(error instanceof RedisOfflineError)) this.report(error);
    }
  }

  /** @internal */
  protected disconnectBus(): Promise<void> {
    // Everything sent before LEAVE has been answered (one connection, in order), so nothing is cut off.
    this.subscriber?.destroy();
    if (this.ownsClient) this.client?.destroy();
    for (const detach of this.detach) detach();
    this.detach = [];
    return Promise.resolve();
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
  override close(): Promise<void> {
    return super.close();
  }

  private connected(): ScriptRunner {
    if (this.runner === undefined || !this.runner.ready || this.closed) throw new RedisOfflineError();
    return this.runner;
  }

  /**
   * @internal A command failure. "Not connected" is already told once per outage by
   * the client's error event; "busy" and timeouts once until Redis answers a
   * heartbeat again (a stall would otherwise report every message).
   */
  protected override reportFailure(error: unknown): void {
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

  private updateState(): void {
    let next: BackplaneState;
    if (this.closed) next = 'closed';
    else if (!this.started) return;
    else {
      const up = this.commandUp && this.subscriberUp && this.client!.isReady && this.subscriber!.isReady && !this.beatFailing;
      next = up ? 'connected' : 'disconnected';
    }
    this.setState(next);
  }
}
