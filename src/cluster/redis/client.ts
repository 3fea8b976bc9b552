import { RedisBusyError, RedisOfflineError, RedisTimeoutError } from './errors.js';
import { ALL_ROOM_SCRIPTS } from './room-scripts.js';
import { ALL_FORWARD_SCRIPTS, GATE } from './forward-scripts.js';
import { ALL_SCRIPTS, HEARTBEAT, type Script, type ScriptBody } from './scripts.js';

/**
 * Where the backplane's commands go: a node-redis client as it is, or a
 * Redis Cluster client bound to the backplane's slot (see `clusterSender`).
 * Calls must be written in the order they are made (one connection per
 * slot), which the ordering guarantee for one sender rests on.
 */
export interface RedisSender {
  readonly isReady: boolean;
  sendCommand(args: Array<string | Buffer>, options?: { timeout?: number }): Promise<unknown>;
  /**
   * Sends to every node (a Redis Cluster's replicas too, for SCRIPT LOAD: a
   * replica promoted by a failover then runs EVALSHAs at once).
   */
  everywhere?(args: string[]): Promise<unknown>;
}

/**
 * The part of a node-redis client (`createClient()` from `redis` ≥ 5) the
 * backplane uses. A client from `redis` satisfies it as it is.
 */
export interface RedisClientLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: Array<string | Buffer>, options?: { timeout?: number }): Promise<unknown>;
  /**
   * With `bufferMode`, node-redis hands the listener each message's bytes (a
   * client that hands a string instead still works: the backplane reads both).
   */
  subscribe(
    channel: string,
    listener: (message: string | Buffer, channel: string | Buffer) => unknown,
    bufferMode?: boolean,
  ): Promise<unknown>;
  duplicate(): RedisClientLike;
  // `any`: node-redis types its listeners with `any[]`; a narrower type here would refuse a real client.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, listener: (...args: any[]) => void): unknown;
  destroy(): void;
}

/** Resolves when `client` is ready (connecting it if nobody has). */
export async function whenReady(client: RedisClientLike): Promise<void> {
  if (client.isReady) return;
  const ready = new Promise<void>((resolve) => {
    const onReady = () => {
      client.off('ready', onReady);
      resolve();
    };
    client.on('ready', onReady);
  });
  if (!client.isOpen) await client.connect();
  await ready;
}

/**
 * Which budget a command draws on. Forwards (cross-node messages, the bulk of
 * the traffic) may not use the last few slots and bytes, so that a flood of
 * messages can never starve the heartbeat, claims and releases (`control`).
 * A hand-over (`grant`) carries a resuming peer's held relays: its bytes
 * have their own budget, the worst case of the hub's resume bounds, so that
 * neither a flood of messages refuses a resume nor a large grant refuses a
 * heartbeat.
 */
export type Lane = 'forward' | 'control' | 'grant';

/** Command options that turn node-redis's own timeout off: {@link ScriptRunner} times commands itself. */
const NO_CLIENT_TIMEOUT = { timeout: undefined };

/**
 * How long a node's batch key lives after its last transaction, in ms (GATE empties it in the transaction
 * that stores it; it stays, empty, so that a Redis Cluster migrating the slot serves it from the source).
 */
const GATED_BATCH_TTL = '60000';

const ignore = (): void => {};

/** UTF-8 length of a command as sent (arguments only; the RESP framing adds a few bytes each). */
function sizeOf(args: ReadonlyArray<string | Buffer>): number {
  let bytes = 0;
  for (const arg of args) bytes += typeof arg === 'string' ? Buffer.byteLength(arg) : arg.length;
  return bytes;
}

/**
 * Runs the backplane's Lua scripts on one connection (on a Redis Cluster: the
 * connection to the master of the backplane's slot). Every command is sent
 * at once or refused:
 *
 * - when the client is not ready it fails fast with {@link RedisOfflineError}
 *   instead of waiting in an offline queue;
 * - when `maxCommands` commands or `maxBytes` bytes already wait for Redis
 *   (a stalled Redis keeps its TCP connection open, so nothing else would stop
 *   them piling up in the client), it fails fast with {@link RedisBusyError};
 * - a sent command gives up after `timeout` ms ({@link RedisTimeoutError}),
 *   but keeps counting as in flight until Redis answers it or the connection
 *   drops, because until then the client holds it in memory.
 */
export class ScriptRunner {
  /** Commands sent and not answered yet (timed-out ones included). */
  inFlightCommands = 0;
  /** Their bytes (hand-overs' apart). */
  inFlightBytes = 0;
  /** Bytes of hand-overs waiting for Redis (at most `grantBytes`, or one larger than it). */
  inFlightGrantBytes = 0;
  /**
   * Redis's clock minus `performance.now()`, in ms, estimated from heartbeats:
   * lets a command carry the Redis time after which it must not take effect.
   */
  clockOffset: number | undefined;
  /**
   * With node links: writes any command but a forward in its place behind the batches in flight on a
   * link (see ForwardBatcher.viaRedis), so that a command never overtakes a message sent before it.
   */
  order: ((write: () => Promise<unknown>) => Promise<unknown>) | undefined;
  /**
   * Called before any command but a forward is written: the forward batcher
   * sends what it holds, so that commands reach Redis in the order they were made.
   */
  beforeCommand: (() => void) | undefined;
  private readonly forwardCommands: number;
  private readonly forwardBytes: number;

  constructor(
    private readonly client: RedisSender,
    /**
     * A key of the backplane's slot, declared on a Redis Cluster by every
     * script call that names no key of its own: a node that no longer serves
     * the slot answers `MOVED`/`ASK` before running it, rather than failing
     * halfway through.
     */
    private readonly anchor: string,
    /** Whether scripts publish with SPUBLISH (a Redis Cluster) rather than PUBLISH. */
    readonly sharded: boolean,
    private readonly timeout: number,
    private readonly maxCommands: number,
    private readonly maxBytes: number,
    /** Bytes of hand-overs that may wait for Redis at once (one larger than it goes when none waits). */
    private readonly grantBytes: number = maxBytes,
  ) {
    this.forwardCommands = maxCommands - Math.min(16, Math.floor(maxCommands / 4));
    this.forwardBytes = maxBytes - Math.floor(maxBytes / 8);
  }

  get ready(): boolean {
    return this.client.isReady;
  }

  /** Whether a forward would be refused now for lack of room. */
  get forwardsBlocked(): boolean {
    return this.inFlightCommands >= this.forwardCommands || this.inFlightBytes >= this.forwardBytes;
  }

  /** Whether a control command (heartbeat, claim, release) would be refused now for lack of room. */
  get controlBlocked(): boolean {
    return this.inFlightCommands >= this.maxCommands;
  }

  /** Bytes one forward call may carry at most: batches are cut to fit well inside the forward budget. */
  get forwardBatchBytes(): number {
    return Math.min(1 << 20, Math.floor(this.forwardBytes / 4));
  }

  /**
   * The Redis time (ms) after which a command sent now has been answered
   * `unavailable` here, so it must not take effect: `'0'` (no deadline) until
   * the clock offset is known. `extra` ms are added to the command timeout.
   */
  deadline(extra = 0): string {
    const offset = this.clockOffset;
    return offset === undefined ? '0' : String(Math.floor(performance.now() + offset + this.timeout + extra));
  }

  /**
   * Runs `script`. Its first write happens synchronously, so calls keep their
   * order on the connection (the ordering guarantee for one sender rests on it).
   */
  run(script: Script, keys: readonly string[], args: ReadonlyArray<string | Buffer>, lane: Lane = 'control'): Promise<unknown> {
    if (!this.client.isReady) return Promise.reject(new RedisOfflineError());
    const body: ScriptBody = this.sharded ? script.sharded : script;
    const tail =
      keys.length > 0 ? [String(keys.length), ...keys, ...args] : this.sharded ? ['1', this.anchor, ...args] : ['0', ...args];
    // A heartbeat says nothing about messages: it need not wait behind a link's (and must not, when
    // Redis stalls, hold the links up while it waits).
    const ordered = script !== HEARTBEAT;
    return this.send(['EVALSHA', body.sha, ...tail], lane, ordered).catch((error: unknown) => {
      // Redis restarted, SCRIPT FLUSH or a replica promoted by a failover:
      // `load()` runs on every reconnection, this covers whatever slipped in before it.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      if (!this.client.isReady) throw new RedisOfflineError();
      return this.send(['EVAL', body.source, ...tail], lane, ordered);
    });
  }

  /** Loads every script; sent first on a fresh connection so that later EVALSHAs find them. */
  load(): Promise<unknown> {
    // On a Redis Cluster to every node node-redis knows, replicas included (`useReplicas`): a replica
    // promoted by a failover has them, so EVALSHAs never meet NOSCRIPT there (an EVAL retry could be
    // overtaken by a later call).
    const everywhere = this.client.everywhere?.bind(this.client);
    return Promise.all(
      [...ALL_SCRIPTS, ...ALL_FORWARD_SCRIPTS, ...ALL_ROOM_SCRIPTS].map((s) => {
        const args = ['SCRIPT', 'LOAD', (this.sharded ? s.sharded : s).source];
        return everywhere === undefined ? this.send(args, 'control') : everywhere(args);
      }),
    );
  }

  /** PUBLISH, or SPUBLISH on a Redis Cluster. */
  get publishCommand(): string {
    return this.sharded ? 'SPUBLISH' : 'PUBLISH';
  }

  /** Runs a plain command (for presence queries). */
  command(args: string[]): Promise<unknown> {
    if (!this.client.isReady) return Promise.reject(new RedisOfflineError());
    return this.send(args, 'control');
  }

  private send(args: Array<string | Buffer>, lane: Lane, ordered = true): Promise<unknown> {
    const write = () => this.admit(sizeOf(args), lane, String(args[0]), () => this.client.sendCommand(args, NO_CLIENT_TIMEOUT));
    if (lane === 'forward') return write();
    this.beforeCommand?.();
    return this.order === undefined || !ordered ? write() : this.order(write);
  }

  /**
   * Forwards `batch` without handing it to Lua (see GATE): in one `MULTI`, a `SET` of it under `key`,
   * GATE with `args`, and a plain `PUBLISH` of it on `channel`; resolves with EXEC's reply (`[OK, GATE's
   * reply, receivers]`). Written at once, as {@link run} is, and bounded as a forward.
   */
  gated(key: string, batch: Buffer, args: ReadonlyArray<string | Buffer>, channel: string): Promise<unknown> {
    if (!this.client.isReady) return Promise.reject(new RedisOfflineError());
    const body: ScriptBody = this.sharded ? GATE.sharded : GATE;
    const client = this.client;
    // The batch goes twice (stored, then published), one buffer held once until Redis answers: counted once,
    // so that what FORWARD would send fits here too.
    return this.admit(batch.length + sizeOf(args), 'forward', 'EXEC', () => {
      // Their failures show in EXEC's (an error queueing one aborts the transaction).
      client.sendCommand(['MULTI'], NO_CLIENT_TIMEOUT).catch(ignore);
      client.sendCommand(['SET', key, batch, 'PX', GATED_BATCH_TTL], NO_CLIENT_TIMEOUT).catch(ignore);
      client.sendCommand(['EVALSHA', body.sha, '1', key, ...args], NO_CLIENT_TIMEOUT).catch(ignore);
      client.sendCommand([this.publishCommand, channel, batch], NO_CLIENT_TIMEOUT).catch(ignore);
      return client.sendCommand(['EXEC'], NO_CLIENT_TIMEOUT);
    });
  }

  /**
   * Sends with `write()` when the lane has room, else refuses with {@link RedisBusyError}. node-redis's
   * own `timeout` would drop a written command from its count while the connection still waits for its
   * answer, so the backplane times commands itself: a Redis that accepts the bytes but does not answer
   * (paused, overloaded, a half-open connection) is raced by a timer, and a late reply still arrives and
   * is ignored.
   */
  private admit(bytes: number, lane: Lane, name: string, write: () => Promise<unknown>): Promise<unknown> {
    const commands = this.inFlightCommands;
    const grant = lane === 'grant';
    const refused =
      lane === 'forward'
        ? commands >= this.forwardCommands || this.inFlightBytes + bytes > this.forwardBytes
        : grant
          ? commands >= this.maxCommands || (this.inFlightGrantBytes > 0 && this.inFlightGrantBytes + bytes > this.grantBytes)
          : commands >= this.maxCommands || (commands > 0 && this.inFlightBytes + bytes > this.maxBytes);
    if (refused) return Promise.reject(new RedisBusyError(commands, this.inFlightBytes));
    this.inFlightCommands++;
    if (grant) this.inFlightGrantBytes += bytes;
    else this.inFlightBytes += bytes;
    const settled = () => {
      this.inFlightCommands--;
      if (grant) this.inFlightGrantBytes -= bytes;
      else this.inFlightBytes -= bytes;
    };
    // No client-side timer besides ours (node-redis ≥ 6 arms one per command by default: an AbortSignal and a timer).
    const reply = write();
    reply.then(settled, settled);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeoutError(name, this.timeout)), this.timeout);
    });
    return Promise.race([reply, expired]).finally(() => clearTimeout(timer));
  }
}
