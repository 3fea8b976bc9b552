import { ALL_SCRIPTS, type Script } from './scripts.js';

/**
 * The part of a node-redis client (`createClient()` from `redis` ≥ 5) the
 * backplane uses. A client from `redis` satisfies it as it is.
 */
export interface RedisClientLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: string[], options?: { timeout?: number }): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  duplicate(): RedisClientLike;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  destroy(): void;
}

/** Redis is not connected: the command was not sent. */
export class RedisOfflineError extends Error {
  constructor() {
    super('Redis is not connected');
    this.name = 'RedisOfflineError';
  }
}

/** Redis did not answer a command in time; it may still carry it out. */
export class RedisTimeoutError extends Error {
  constructor(command: string, timeout: number) {
    super(`Redis did not answer ${command} within ${timeout} ms`);
    this.name = 'RedisTimeoutError';
  }
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
 * Runs the backplane's Lua scripts on one connection. Every command is sent
 * at once or refused: when the client is not ready it fails fast with
 * {@link RedisOfflineError} instead of waiting in an offline queue, and a sent
 * command gives up after `timeout` ms.
 */
export class ScriptRunner {
  constructor(
    private readonly client: RedisClientLike,
    private readonly timeout: number,
  ) {}

  get ready(): boolean {
    return this.client.isReady;
  }

  /**
   * Runs `script`. Its first write happens synchronously, so calls keep their
   * order on the connection (the ordering guarantee for one sender rests on it).
   */
  run(script: Script, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    if (!this.client.isReady) return Promise.reject(new RedisOfflineError());
    const tail = [String(keys.length), ...keys, ...args];
    return this.send(['EVALSHA', script.sha, ...tail]).catch((error: unknown) => {
      // Redis restarted or SCRIPT FLUSH: `load()` runs on every reconnection,
      // this covers whatever slipped in before it.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.send(['EVAL', script.source, ...tail]);
    });
  }

  /** Loads every script; sent first on a fresh connection so that later EVALSHAs find them. */
  load(): Promise<unknown> {
    return Promise.all(ALL_SCRIPTS.map((s) => this.send(['SCRIPT', 'LOAD', s.source])));
  }

  /** Runs a plain command (for presence queries). */
  command(args: string[]): Promise<unknown> {
    if (!this.client.isReady) return Promise.reject(new RedisOfflineError());
    return this.send(args);
  }

  /**
   * node-redis's own `timeout` stops counting once a command is written, so
   * a Redis that accepts the bytes but does not answer (paused, overloaded,
   * a half-open connection) would leave it pending forever: race a timer.
   * A late reply still arrives and is ignored.
   */
  private send(args: string[]): Promise<unknown> {
    const reply = this.client.sendCommand(args, { timeout: this.timeout });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeoutError(args[0]!, this.timeout)), this.timeout);
    });
    return Promise.race([reply, expired]).finally(() => clearTimeout(timer));
  }
}
