import { BackplaneError } from '../../core/errors.js';
import type { BackplaneHost, BackplaneState, BackplaneStatus } from '../../core/backplane.js';
import { ClusterBackplane, messageOf } from '../cluster-backplane.js';
import { type RedisClientLike, type RedisSender, ScriptRunner, whenReady } from './client.js';
import {
  type ClusterSender,
  type RedisClusterLike,
  ShardedSubscription,
  clusterSender,
  createRedisCluster,
  isConnectionLoss,
  watchCluster,
  whenClusterReady,
} from './cluster-client.js';
import { type ConnectionWatcher, createRedisClient, shownUrl, watchConnection, withinStartTimeout } from './connections.js';
import { RedisRooms } from './redis-rooms.js';
import { RedisBusyError, RedisOfflineError, RedisTimeoutError } from './errors.js';
import { ForwardBatcher } from './forward-batcher.js';
import { GatedChannel } from './gated-channel.js';
import { Keys, taggedPrefix } from './keys.js';
import { NodeLease } from './node-lease.js';
import { type RedisBackplaneOptions, type ResolvedRedisBackplaneOptions, resolveRedisBackplaneOptions } from './options.js';
import { liveNames, liveNodes } from './presence.js';
import { RedisBus } from './redis-bus.js';
import { LEAVE } from './scripts.js';
import { NodeLinkError } from '../links/errors.js';
import { RedisLinks } from './redis-links.js';

/** One error type for every failed start; a Redis error stays its cause. */
function joinFailure(error: unknown): BackplaneError {
  return error instanceof BackplaneError ? error : new BackplaneError(`Could not join the cluster: ${messageOf(error)}`, error);
}

/** {@link RedisBackplane.status}: the port's status and how much waits for Redis. */
export interface RedisBackplaneStatus extends BackplaneStatus {
  /** Commands sent and not answered yet (at most `maxInFlightCommands`). */
  readonly inFlightCommands: number;
  /** Their bytes (at most `maxInFlightBytes`, but for one control command larger than it; hand-overs apart). */
  readonly inFlightBytes: number;
  /** Links to other nodes open now (0 without `links`). */
  readonly nodeLinks: number;
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
 * - Envelopes for peers on other nodes, gathered per event-loop turn (and
 *   while a call waits for Redis, until it is answered), go through one Lua
 *   call that finds each holder's node and PUBLISHes once per node: one
 *   round trip on one connection, so one sender's messages stay in order.
 *   Delivery is at most once. With `links`, a batch to peers seen on one
 *   other node goes to it over a TCP link instead (docs/CLUSTER.md, "Node links").
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
 * On a Redis Cluster (≥ 7: `clusterUrls` or `cluster`) every key and
 * channel lives in the slot of the tagged `keyPrefix` and node channels use
 * sharded pub/sub (docs/CLUSTER.md, "Redis Cluster").
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
  /**
   * Tells this process's lease from a leftover one of an earlier process with the same id; with
   * `links`, followed by where the node listens for them and their secret (`<uuid> <host> <port> <secret>`).
   */
  private token = globalThis.crypto.randomUUID();
  /** With `links`: where other nodes' links come in, and this node's links to them. */
  private readonly links: RedisLinks | undefined;
  private client: RedisClientLike | undefined;
  private subscriber: RedisClientLike | undefined;
  /** On a Redis Cluster: the one client of both roles (`client` and `subscriber` stay unset). */
  private cluster: RedisClusterLike | undefined;
  /** What the node's channel delivers to (one function: a cluster unsubscribes it by identity). */
  private readonly listener = (message: string | Buffer) => this.receive(message);
  /** What the node's gated channel delivers (batches GATE approved) to the same place. */
  private readonly gatedChannel = new GatedChannel(this.listener);
  /** On a Redis Cluster: the sharded subscription to the node's channel. */
  private subscription: ShardedSubscription | undefined;
  private runner: ScriptRunner | undefined;
  private batcher: ForwardBatcher | undefined;
  private lease: NodeLease | undefined;
  private detach: Array<() => void> = [];
  /** Whether `client` (or `cluster`) was created here (and is closed here). */
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
    this.keys = new Keys(taggedPrefix(resolved.keyPrefix) ?? '', this.nodeId);
    if (resolved.links !== undefined) {
      this.links = new RedisLinks(
        {
          nodeId: this.nodeId,
          current: () => this.linkCurrent(),
          deliver: (envelope) => this.deliverOne(envelope),
          report: (error) => this.reportFailure(error),
        },
        { ...resolved, links: resolved.links },
      );
    }
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
    const { options } = this;
    if (this.links !== undefined) this.token += await this.links.listen();
    if (options.cluster !== undefined || options.clusterUrls !== undefined) return this.connectCluster();
    let client = options.client;
    if (client === undefined) {
      client = await createRedisClient(options.url, options.reconnectMaxDelay);
      if (this.closed) throw new BackplaneError('RedisBackplane was closed before it started');
      this.ownsClient = true;
    }
    this.client = client;
    const { runner, lease } = this.wire(client, false);
    const subscriber = (this.subscriber = client.duplicate());
    const watcher = this.watcher();
    this.detach.push(
      watchConnection(client, 'command', { ...watcher, ready: () => this.reconnected() }, this.ownsClient),
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
      throw joinFailure(error);
    }
  }

  /** connectBus() on a Redis Cluster: one cluster client, commands and the sharded subscription. */
  private async connectCluster(): Promise<void> {
    const { options } = this;
    let cluster = options.cluster;
    if (cluster === undefined) {
      cluster = await createRedisCluster(options.clusterUrls!, options.reconnectMaxDelay);
      if (this.closed) throw new BackplaneError('RedisBackplane was closed before it started');
      this.ownsClient = true;
    }
    this.cluster = cluster;
    const sender = clusterSender(cluster, this.keys.nodes);
    const { runner, lease } = this.wire(sender, true);
    const subscription = (this.subscription = new ShardedSubscription(
      cluster,
      [
        [this.keys.channel, this.listener],
        [this.keys.gated, this.gatedChannel.listener],
      ],
      {
        retryMs: options.heartbeatInterval,
        closed: () => this.closed,
        up: (up) => {
          this.gatedChannel.reset();
          this.subscriberUp = up;
          this.updateState();
        },
        failed: (error) => this.reportFailure(error),
      },
    ));
    const ready = () => this.reconnected();
    this.detach.push(watchCluster(cluster, { ...this.watcher(), ready }, () => subscription.resubscribe(), this.ownsClient));
    const where = options.clusterUrls === undefined ? ' Cluster' : ` Cluster at ${options.clusterUrls.map(shownUrl).join(', ')}`;
    try {
      await withinStartTimeout(this.joinCluster(cluster, sender, runner, lease), [cluster], options.startTimeout, where);
    } catch (error) {
      await this.close();
      if (this.ownsClient) cluster.destroy();
      throw joinFailure(error);
    }
  }

  /** Whether this node's names are surely its own now (its lease holds): links deliver and send only then. */
  private linkCurrent(): boolean {
    return !this.closed && this.lease !== undefined && performance.now() < this.lease.currentUntil;
  }

  /** The runner, batcher, lease, bus and rooms over `sender` (`sharded`: a Redis Cluster). */
  private wire(sender: RedisSender, sharded: boolean): { runner: ScriptRunner; lease: NodeLease } {
    const host = this.host!;
    const { options } = this;
    const runner = (this.runner = new ScriptRunner(
      sender,
      this.keys.nodes,
      sharded,
      options.commandTimeout,
      options.maxInFlightCommands,
      options.maxInFlightBytes,
      this.grantLimit,
    ));
    const reportFailure = (error: unknown) => this.reportFailure(error);
    const path = this.links?.path(runner, this.keys);
    const batcher = (this.batcher = new ForwardBatcher(runner, this.keys.prefix, this.nodeId, reportFailure, path));
    runner.beforeCommand = () => batcher.flush();
    if (path !== undefined) runner.order = (write) => batcher.viaRedis(write);
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
    return { runner, lease };
  }

  /** What the connection watchers tell the backplane. */
  private watcher(): ConnectionWatcher {
    return {
      closed: () => this.closed,
      changed: (role, up) => {
        if (role === 'command') this.commandUp = up;
        else {
          this.gatedChannel.reset();
          this.subscriberUp = up;
        }
        this.updateState();
      },
      report: (error) => this.report(error),
      ready: () => {},
    };
  }

  /** The command connection is ready again (on a cluster: a node is), after the start. */
  private reconnected(): void {
    if (!this.started) return;
    this.lease!.connected();
    // First on the fresh connection, so that the EVALSHAs behind it find their scripts.
    this.runner!.load().catch((error: unknown) => this.reportFailure(error));
    void this.claims.reassert();
  }

  /** Reaches Redis, loads the scripts, subscribes and takes the lease (start() bounds it in time). */
  private async join(
    client: RedisClientLike,
    subscriber: RedisClientLike,
    runner: ScriptRunner,
    lease: NodeLease,
  ): Promise<void> {
    await whenReady(client);
    this.commandUp = true;
    this.stillOpen();
    await runner.load();
    this.stillOpen();
    await subscriber.connect();
    this.subscriberUp = true;
    this.stillOpen();
    // node-redis subscribes again by itself after every reconnection.
    // As bytes: a batch of envelopes is read without turning all of it into text first.
    await subscriber.subscribe(this.keys.channel, this.listener, true);
    // Once it listens here, GATE lets other nodes publish batches to it without handing them to Lua.
    await subscriber.subscribe(this.keys.gated, this.gatedChannel.listener, true);
    await this.takeLease(lease);
  }

  /** join() on a Redis Cluster. */
  private async joinCluster(
    cluster: RedisClusterLike,
    sender: ClusterSender,
    runner: ScriptRunner,
    lease: NodeLease,
  ): Promise<void> {
    const { reconnectMaxDelay } = this.options;
    await whenClusterReady(
      cluster,
      (attempt) => Math.min(50 * 2 ** attempt, reconnectMaxDelay),
      () => this.closed,
    );
    await sender.refresh();
    this.commandUp = this.subscriberUp = true;
    this.stillOpen();
    await runner.load();
    this.stillOpen();
    await this.subscription!.subscribe();
    await this.takeLease(lease);
  }

  private stillOpen(): void {
    if (this.closed) throw new BackplaneError('RedisBackplane was closed before it started');
  }

  /** The last steps of a join: the lease, then the names of a former self. */
  private async takeLease(lease: NodeLease): Promise<void> {
    this.stillOpen();
    if ((await lease.refresh()) === 2) {
      throw new BackplaneError(
        `Node id ${this.nodeId} is held by a live node; wait ${this.options.leaseTtl} ms or pick another id`,
      );
    }
    this.stillOpen();
    lease.connected();
    // A node restarted with a fixed id may find names of its former self.
    await this.claims.reassert();
    this.stillOpen();
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
    const runner = this.runner;
    if (this.started && runner?.ready === true && this.batcher !== undefined) {
      // What went by link is answered first (a refused envelope goes on through Redis), so that the
      // far nodes hear this node's last messages before its names go.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.commandTimeout)));
      await Promise.race([this.batcher.drained(), late]);
      clearTimeout(timer);
    }
    this.lease?.stop();
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
    if (this.ownsClient) this.cluster?.destroy();
    // A host's cluster client stays open: only this backplane's subscription goes.
    else this.subscription?.unsubscribe();
    for (const detach of this.detach) detach();
    this.detach = [];
    return this.links?.close() ?? Promise.resolve();
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
      nodeLinks: this.links?.openCount ?? 0,
    };
  }

  /** Ids of the nodes whose lease is current. Rejects while Redis is unreachable. */
  listNodes(): Promise<string[]> {
    return liveNodes(this.connected(), this.keys);
  }

  /**
   * Every name logged in on a live node of the cluster, mapped to its node id:
   * cluster-wide presence for dashboards and admin tools (it reads every
   * name, so do not call it per message). Rejects while Redis is unreachable.
   */
  listNames(): Promise<Map<string, string>> {
    return liveNames(this.connected(), this.keys);
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
    if (error instanceof RedisBusyError || (error instanceof NodeLinkError && error.failure === 'busy')) {
      if (this.busyReported) return;
      this.busyReported = true;
    } else if (error instanceof RedisTimeoutError || isConnectionLoss(error)) {
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
      const connections = this.cluster === undefined ? this.client!.isReady && this.subscriber!.isReady : this.cluster.isReady;
      const up = this.commandUp && this.subscriberUp && connections && !this.beatFailing;
      next = up ? 'connected' : 'disconnected';
    }
    this.setState(next);
  }
}
