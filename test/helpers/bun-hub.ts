import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'eventemitter3';
import { type HubOptions, type HubStats, type Peer, SignallingHubError } from '../../src/index.js';
import type {
  ChildCommand,
  ChildMessage,
  HookName,
  HubMethod,
  RoomMethod,
  SerializedError,
  WireHandlerOptions,
  WireHubOptions,
} from './bun-protocol.js';
import { namedHooksOf } from './hook-sets.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * The `bun` binary from the `bun` dev dependency: the platform package's
 * binary when it is still there, else the one bun's postinstall moved into
 * `bun/bin` (npm runs it when allowed by `allowScripts`). Nothing is downloaded.
 */
export function bunBinary(): string {
  const candidates: string[] = [];
  if (process.env.BUN_BINARY !== undefined) candidates.push(process.env.BUN_BINARY);
  const platform = `@oven/bun-${process.platform}-${process.arch === 'arm64' ? 'aarch64' : process.arch}`;
  for (const [pkg, file] of [
    [platform, 'bin/bun'],
    ['bun', 'bin/bun.exe'],
  ] as const) {
    try {
      candidates.push(join(dirname(require.resolve(`${pkg}/package.json`)), file));
    } catch {
      // Not installed for this platform.
    }
  }
  for (const candidate of candidates) {
    if (existsSync(candidate) && spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  throw new Error(`no working bun binary (tried ${candidates.join(', ') || 'nothing'}): run npm install`);
}

function toError(serialized: SerializedError): Error {
  const cause = serialized.cause === undefined ? undefined : toError(serialized.cause);
  const error =
    serialized.code === undefined
      ? new Error(serialized.message, { cause })
      : new SignallingHubError(serialized.code, serialized.message, { cause });
  error.name = serialized.name;
  return error;
}

function serializeError(error: unknown): SerializedError {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}

/** The hooks of one hub that run in the test process, called by the child. */
interface Hooks {
  authenticate?: (context: never) => unknown;
  iceServers?: (peer: never) => unknown;
  verifyUpgrade?: (request: { url: string; headers: Record<string, string> }) => unknown;
  authorizeJoin?: (context: never) => unknown;
}

/**
 * One Bun process holding any number of hubs, each on its own `Bun.serve`,
 * driven over stdin/stdout (see bun-protocol.ts).
 */
export class BunChild {
  private readonly process: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private readonly mirrors = new Map<number, BunHubMirror>();
  private readonly hooks = new Map<number, Hooks>();
  private readonly exited: Promise<void>;
  private stderr = '';
  readonly ready: Promise<void>;

  constructor() {
    this.process = spawn(bunBinary(), [join(here, 'bun-hub-child.ts')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    let ready: () => void;
    this.ready = new Promise((resolve) => (ready = resolve));
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        const error = new Error(`the Bun child exited (${code ?? signal}): ${this.stderr}`);
        for (const waiter of this.waiting.values()) waiter.reject(error);
        this.waiting.clear();
        resolve();
      });
    });
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as ChildMessage;
      if (message.kind === 'ready') ready();
      else this.receive(message);
    });
  }

  private receive(message: Exclude<ChildMessage, { kind: 'ready' }>): void {
    switch (message.kind) {
      case 'result': {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.error !== undefined) waiter?.reject(toError(message.error));
        else waiter?.resolve(message.result);
        return;
      }
      case 'event':
        this.mirrors.get(message.hubId)?.mirror(message.event, message.payload, message.peers);
        return;
      case 'transport':
        this.mirrors.get(message.hubId)?.transports.push({ kind: message.transport });
        return;
      case 'hook':
        this.runHook(message.callId, this.hooks.get(message.hubId)?.[message.hook], message.hook, message.arg);
        return;
    }
  }

  /** Runs a hook's closure here and sends its outcome back. */
  private runHook(callId: number, hook: ((arg: never) => unknown) | undefined, name: HookName, arg: unknown): void {
    Promise.resolve()
      .then(() => {
        if (hook === undefined) throw new Error(`the test gave no ${name} hook`);
        return hook(arg as never);
      })
      .then(
        (result) => this.post({ op: 'reply', callId, result }),
        (error: unknown) => this.post({ op: 'reply', callId, error: serializeError(error) }),
      );
  }

  private post(command: ChildCommand & { id?: number }): void {
    this.process.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  call<T>(command: ChildCommand): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve, reject });
      this.post({ ...command, id });
    });
  }

  /**
   * Starts a hub with `options` on a fresh `Bun.serve`. Hooks that are
   * functions run here (async ones: `authenticate`, `iceServers`,
   * `verifyUpgrade`) or, for the synchronous `validateName`, in the child
   * from its source, which must not use variables from around it. The hooks
   * of a named hook set (`NamedHooks`, e.g. `authorizeRelay`) are built in
   * the child from the set's registry and state.
   */
  async start(
    options: HubOptions = {},
    handler: Omit<WireHandlerOptions, 'verifyUpgrade'> & { verifyUpgrade?: Hooks['verifyUpgrade'] } = {},
  ): Promise<BunHub> {
    const { authenticate, iceServers, authorizeJoin, validateName, backplane, ...plain } = options;
    if (backplane !== undefined) throw new Error('a backplane cannot cross to the Bun child');
    // Hooks of a named set (hook-sets.ts) are built in the child from the set's state.
    const named = namedHooksOf(Object.values(plain).find((value) => namedHooksOf(value) !== undefined));
    for (const [key, value] of Object.entries(plain)) {
      if (typeof value !== 'function') continue;
      if (named === undefined || namedHooksOf(value) !== named)
        throw new Error(`the Bun child cannot take the function option ${key}`);
      delete (plain as Record<string, unknown>)[key];
    }
    const wire: WireHubOptions = {
      ...plain,
      ...(named !== undefined && { named: { set: named.set, state: named.snapshot } }),
      hooks: {
        authenticate: authenticate !== undefined,
        iceServers: iceServers !== undefined,
        authorizeJoin: authorizeJoin !== undefined,
        validateName: validateName?.toString(),
      },
    };
    const { verifyUpgrade, ...handlerPlain } = handler;
    await this.ready;
    const { hubId, port } = await this.call<{ hubId: number; port: number }>({
      op: 'start',
      options: wire,
      handler: { ...handlerPlain, verifyUpgrade: verifyUpgrade !== undefined },
    });
    this.hooks.set(hubId, { authenticate, iceServers, verifyUpgrade, authorizeJoin });
    named?.bind({ update: (patch) => this.call({ op: 'named-hooks', hubId, patch }) });
    const mirror = new BunHubMirror(this, hubId, options);
    this.mirrors.set(hubId, mirror);
    return {
      hub: mirror,
      port,
      url: `ws://127.0.0.1:${port}${handler.path ?? '/'}`,
      close: async () => {
        await this.call({ op: 'close', hubId });
        this.mirrors.delete(hubId);
        this.hooks.delete(hubId);
      },
    };
  }

  /** Ends the child (closing stdin lets it exit; killed if it does not). */
  async stop(): Promise<void> {
    this.process.stdin!.end();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A hub in the Bun child, as the tests reach it. */
export interface BunHub {
  readonly hub: BunHubMirror;
  readonly port: number;
  /** `ws://127.0.0.1:<port><path>` */
  readonly url: string;
  close(): Promise<void>;
}

/** What the test process knows of a transport the child's hub was given. */
export interface TransportRecord {
  /** The class of the transport object (`BunTransport`). */
  readonly kind: string;
}

/**
 * The test process's view of a hub in the Bun child: its events re-emitted
 * here, its peers as of the last event or barrier, its methods forwarded.
 * The peers are at least as recent as any frame a {@link BunClient} has
 * delivered (each frame waits for a barrier), so `getPeer()` right after a
 * login reply sees the login, as with a hub in this process.
 */
export class BunHubMirror extends EventEmitter {
  private known: Peer[] = [];
  /** The transports the child's hub was given, in order (a test hub may point this at its own list). */
  transports: TransportRecord[] = [];

  constructor(
    private readonly child: BunChild,
    readonly hubId: number,
    /** The options as given (hooks included), for tests that read them. */
    readonly options: HubOptions,
  ) {
    super();
  }

  /** @internal An event from the child: the peers first, then the listeners. */
  mirror(event: string, payload: unknown, peers: Peer[]): void {
    this.known = peers;
    this.emit(event, event === 'error' || event === 'warning' ? toError(payload as SerializedError) : payload);
  }

  /** Resolves once everything the hub did before this call has reached this process. */
  async sync(): Promise<void> {
    this.known = await this.child.call<Peer[]>({ op: 'sync', hubId: this.hubId });
  }

  getPeer(name: string): Peer | undefined {
    return this.known.find((peer) => peer.name === name);
  }

  peers(): IterableIterator<Peer> {
    return this.known[Symbol.iterator]();
  }

  get size(): number {
    return this.known.length;
  }

  send(name: string, message: object): Promise<boolean> {
    return this.child.call({ op: 'send', hubId: this.hubId, name, message });
  }

  disconnect(name: string, reason?: string): Promise<boolean> {
    return this.child.call({ op: 'disconnect', hubId: this.hubId, name, reason });
  }

  stats(): Promise<HubStats> {
    return this.child.call({ op: 'stats', hubId: this.hubId });
  }

  drain(options: { timeout?: number } = {}): Promise<void> {
    return this.child.call({ op: 'drain', hubId: this.hubId, timeout: options.timeout });
  }

  deliver(name: string, message: object): Promise<unknown> {
    return this.call('deliver', name, message);
  }

  disconnectAnywhere(name: string, reason?: string): Promise<boolean> {
    // JSON would turn a missing reason into null, which is not the hub's default.
    return reason === undefined ? this.call('disconnectAnywhere', name) : this.call('disconnectAnywhere', name, reason);
  }

  private call<T>(method: HubMethod, ...args: unknown[]): Promise<T> {
    return this.child.call({ op: 'call', hubId: this.hubId, method, args });
  }

  members(room: string): Promise<string[]> {
    return this.room('members', room);
  }

  rooms(): Promise<string[]> {
    return this.room('rooms');
  }

  join(name: string, room: string): Promise<unknown> {
    return this.room('join', name, room);
  }

  part(name: string, room: string): Promise<unknown> {
    return this.room('part', name, room);
  }

  broadcast(room: string, data: unknown): Promise<unknown> {
    return this.room('broadcast', room, data);
  }

  private room<T>(method: RoomMethod, ...args: unknown[]): Promise<T> {
    return this.child.call({ op: 'room', hubId: this.hubId, method, args });
  }

  /** Open connections of the handler. */
  connections(): Promise<number> {
    return this.child.call({ op: 'connections', hubId: this.hubId });
  }

  /** `handler.close()` in the child. */
  closeHandler(): Promise<void> {
    return this.child.call({ op: 'close-handler', hubId: this.hubId });
  }
}
