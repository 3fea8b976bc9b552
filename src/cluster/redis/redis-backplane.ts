import { toError } from '../../core/errors.js';
import type { Backplane, BackplaneHost, ClaimResult, Envelope, ForwardResult } from '../../core/backplane.js';
import { RedisOfflineError, type RedisClientLike, ScriptRunner, whenReady } from './client.js';
import { decodeEnvelopes } from './envelope-codec.js';
import { ForwardBatcher } from './forward-batcher.js';
import { Keys } from './keys.js';
import { NodeLease } from './node-lease.js';
import { type RedisBackplaneOptions, type ResolvedRedisBackplaneOptions, resolveRedisBackplaneOptions } from './options.js';
import { CLAIM, LEAVE, RELEASE } from './scripts.js';

/** Names per Lua call when many are claimed or released at once, so that no call holds Redis for long. */
const BATCH = 500;

const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };

/**
 * A {@link Backplane} through Redis: several hub processes share one name
 * space and relay offer, answer, candidate and leave to each other's peers.
 *
 * - Names are claimed atomically (a Lua script: exactly one of racing logins
 *   on any nodes wins) and tied to this node's lease, a key with a TTL that a
 *   heartbeat refreshes; a name whose node's lease lapsed counts as free.
 * - Envelopes for peers on other nodes, gathered per event-loop turn, go
 *   through one Lua call that finds each holder's node and PUBLISHes once
 *   per node: one round trip on one connection, so one sender's messages
 *   stay in order. Delivery is at most once.
 * - Each heartbeat checks the leases of the nodes this node's peers are in
 *   calls with; when one lapses, those peers hear `leave`.
 * - While Redis is unreachable, claims and cross-node sends are answered
 *   `unavailable` at once; relaying between peers of one node goes on. When
 *   Redis is back (even empty), the node re-asserts its lease and names.
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
  /** Names this node has claimed or is claiming: what it re-asserts when Redis lost them. */
  private readonly held = new Set<string>();
  /** Releases that were sent but may not have happened (timed out); retried on the next heartbeat. */
  private readonly unreleased = new Set<string>();
  private syncing: Promise<void> | undefined;
  private syncAgain = false;

  constructor(options: RedisBackplaneOptions = {}) {
    this.options = resolveRedisBackplaneOptions(options);
    this.nodeId = this.options.nodeId;
    this.keys = new Keys(this.options.keyPrefix, this.nodeId);
  }

  /**
   * Connects (the hub calls it; `hub.ready` is its promise). Resolves once
   * Redis has been reached, the subscription is on and the lease is taken;
   * until then claims are answered `unavailable`. Rejects if the node id is
   * held by another live process, or if `close()` comes first.
   */
  async start(host: BackplaneHost): Promise<void> {
    if (this.host !== undefined) throw new Error('RedisBackplane.start() was called twice: a backplane serves one hub');
    this.host = host;
    const { options } = this;
    let client = options.client;
    if (client === undefined) {
      // Loaded here, not at the top, so that importing this module (the CLI
      // does) does not need `redis` installed until a backplane starts.
      const { createClient } = await import('redis');
      if (this.closed) throw new Error('RedisBackplane was closed before it started');
      client = createClient({
        url: options.url,
        // Commands fail at once while Redis is away instead of piling up and
        // being replayed late (socket.io-redis-adapter users lose packets
        // either way; we would rather say so at once).
        disableOfflineQueue: true,
        socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, options.reconnectMaxDelay) },
      }) as unknown as RedisClientLike;
      this.ownsClient = true;
    }
    this.client = client;
    this.runner = new ScriptRunner(client, options.commandTimeout);
    this.batcher = new ForwardBatcher(this.runner, this.keys.prefix, this.nodeId, (error) => this.reportCommandError(error));
    const subscriber = (this.subscriber = client.duplicate());
    this.lease = new NodeLease(
      this.runner,
      this.keys,
      this.nodeId,
      this.token,
      options.leaseTtl,
      options.heartbeatInterval,
      options.reapBatch,
      {
        watched: () => host.remoteNodes(),
        lost: (state) => {
          if (state === 2) this.report(new Error(`Another process holds node id ${this.nodeId}: node ids must be unique`));
          else void this.resync();
        },
        nodeDown: (nodeId) => host.nodeDown(nodeId),
        failed: (error) => this.reportCommandError(error),
        beat: () => this.retryReleases(),
      },
    );
    this.detach.push(
      this.watch(client, () => {
        if (!this.started) return;
        this.lease!.connected();
        // First on the fresh connection, so that the EVALSHAs behind it find their scripts.
        this.runner!.load().catch((error: unknown) => this.reportCommandError(error));
        void this.resync();
      }),
      this.watch(subscriber, () => {}),
    );
    const stillOpen = () => {
      if (this.closed) throw new Error('RedisBackplane was closed before it started');
    };
    try {
      await whenReady(client);
      stillOpen();
      await this.runner.load();
      stillOpen();
      await subscriber.connect();
      // node-redis subscribes again by itself after every reconnection.
      await subscriber.subscribe(this.keys.channel, (message) => this.receive(message));
      if ((await this.lease.refresh()) === 2) {
        throw new Error(`Node id ${this.nodeId} is held by a live node; wait ${options.leaseTtl} ms or pick another id`);
      }
      this.lease.connected();
      // A node restarted with a fixed id may find names of its former self.
      await this.resync();
      stillOpen();
    } catch (error) {
      // Nothing is left running: the connections this backplane made are closed.
      await this.close();
      subscriber.destroy();
      if (this.ownsClient) client.destroy();
      throw error;
    }
    this.started = true;
    this.lease.start();
  }

  /** Claims `name` for this node: exactly one of racing claims on any nodes gets `claimed`. */
  async claim(name: string, _claimId: string): Promise<ClaimResult> {
    const runner = this.runner;
    if (this.closed || !this.started || runner === undefined || !runner.ready) return 'unavailable';
    this.unreleased.delete(name);
    this.held.add(name);
    try {
      let taken = await this.claimNames([name]);
      if (taken === undefined) {
        // This node's lease had lapsed, so its other names may be gone too: re-assert them all first.
        this.held.delete(name);
        await this.resync();
        this.held.add(name);
        taken = await this.claimNames([name]);
      }
      if (taken !== undefined && taken.length === 0) return 'claimed';
      this.held.delete(name);
      return taken === undefined ? 'unavailable' : 'taken';
    } catch (error) {
      this.held.delete(name);
      if (!(error instanceof RedisOfflineError)) {
        // A timed-out claim may still happen in Redis: give it back later.
        this.unreleased.add(name);
        this.reportCommandError(error);
      }
      return 'unavailable';
    }
  }

  /** Gives `name` back. Fire and forget; a release lost while Redis is away is redone when it returns. */
  release(name: string, _claimId: string): void {
    this.held.delete(name);
    if (this.closed || this.runner === undefined || !this.runner.ready) return;
    this.releaseNames([name]).catch((error: unknown) => {
      if (!this.held.has(name)) this.unreleased.add(name);
      this.reportCommandError(error);
    });
  }

  /**
   * Sends an envelope to the node holding `envelope.to`: `not-found` when no
   * live node holds it, `unavailable` when Redis is unreachable or the
   * holder's subscription is down. At most once; in order per sender.
   */
  forward(envelope: Envelope): Promise<ForwardResult> {
    const runner = this.runner;
    if (this.closed || runner === undefined || !runner.ready) return Promise.resolve(UNAVAILABLE);
    // Sent at the end of this event-loop turn with the others forwarded in it.
    return this.batcher!.add(envelope);
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
    // Everything sent before LEAVE has been answered (one connection, in order), so nothing is cut off.
    this.subscriber?.destroy();
    if (this.ownsClient) this.client?.destroy();
    for (const detach of this.detach) detach();
    this.detach = [];
  }

  /** Reports a client's connection errors once per outage (node-redis emits one per reconnection attempt). */
  private watch(client: RedisClientLike, onReady: () => void): () => void {
    let down = false;
    const error = (cause: unknown) => {
      if (down || this.closed) return;
      down = true;
      this.report(cause);
    };
    const ready = () => {
      down = false;
      onReady();
    };
    client.on('error', error);
    client.on('ready', ready);
    return () => {
      // Our own clients keep a listener: node-redis throws on an unhandled 'error'.
      if (client === this.subscriber || this.ownsClient) return;
      client.off('error', error);
      client.off('ready', ready);
    };
  }

  private receive(text: string): void {
    const envelopes = decodeEnvelopes(text);
    if (envelopes === undefined) {
      this.report(new Error(`Ignored a malformed envelope on ${this.keys.channel}`));
      return;
    }
    const host = this.host;
    // In the order sent; a peer that left meanwhile: dropped (at most once).
    for (const envelope of envelopes) host?.deliver(envelope);
  }

  /** The names live nodes hold, or `undefined` when this node's lease is gone. */
  private async claimNames(names: string[]): Promise<string[] | undefined> {
    const reply = await this.runner!.run(CLAIM, [this.keys.lease, this.keys.names], [this.nodeId, this.keys.prefix, ...names]);
    return reply === -1 ? undefined : (reply as string[]);
  }

  private releaseNames(names: string[]): Promise<unknown> {
    return this.runner!.run(RELEASE, [this.keys.names], [this.nodeId, this.keys.prefix, ...names]);
  }

  /** Re-asserts the lease and every held name, and releases names Redis still has for this node but it no longer holds. */
  private resync(): Promise<void> {
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return this.syncing;
    }
    const run = async () => {
      try {
        do {
          this.syncAgain = false;
          await this.syncOnce();
        } while (this.syncAgain && !this.closed);
      } catch (error) {
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
      this.report(new Error(`Another process holds node id ${this.nodeId}: node ids must be unique`));
      return;
    }
    for (const [name] of this.host!.localClaims()) this.held.add(name);
    const names = [...this.held];
    for (let start = 0; start < names.length; start += BATCH) {
      const taken = await this.claimNames(names.slice(start, start + BATCH));
      if (taken === undefined) {
        this.syncAgain = true;
        return;
      }
      for (const name of taken) {
        // Another node claimed it while this one could not assert it (Redis was away or lost it).
        this.report(new Error(`Name ${name} is held on another node too; messages from other nodes go there`));
      }
    }
    const recorded = (await runner.command(['SMEMBERS', this.keys.names])) as string[];
    const stale = recorded.filter((name) => !this.held.has(name));
    for (let start = 0; start < stale.length; start += BATCH) await this.releaseNames(stale.slice(start, start + BATCH));
  }

  private retryReleases(): void {
    if (this.unreleased.size === 0) return;
    const names = [...this.unreleased].filter((name) => !this.held.has(name));
    this.unreleased.clear();
    for (let start = 0; start < names.length; start += BATCH) {
      const batch = names.slice(start, start + BATCH);
      this.releaseNames(batch).catch((error: unknown) => {
        for (const name of batch) if (!this.held.has(name)) this.unreleased.add(name);
        this.reportCommandError(error);
      });
    }
  }

  private connected(): ScriptRunner {
    if (this.runner === undefined || !this.runner.ready || this.closed) throw new RedisOfflineError();
    return this.runner;
  }

  /** A command failure; "not connected" is already told once per outage by the client's error event. */
  private reportCommandError(error: unknown): void {
    if (error instanceof RedisOfflineError || this.closed) return;
    this.report(error);
  }

  private report(error: unknown): void {
    this.host?.error(toError(error));
  }
}
