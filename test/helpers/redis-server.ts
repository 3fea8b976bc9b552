import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on loopback (released before it is returned; good enough for tests). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends one inline command to `port` and resolves with the first reply line (undefined when nothing answers). */
function inline(port: number, command: string, timeoutMs = 500): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (reply: string | undefined) => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('data', (data) => done(data.toString().split('\r\n')[0]));
    socket.connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
  });
}

/** Resolves once something on `port` answers `PING` with `+PONG`. */
async function waitForPong(port: number, deadline: number, gone: () => boolean): Promise<void> {
  while ((await inline(port, 'PING')) !== '+PONG') {
    if (gone()) return; // the process is gone: its own error says why
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A real `redis-server` child on an ephemeral loopback port, without
 * automatic persistence: `kill()` loses everything and `start()` brings it
 * back empty on the same port, unless `save()` wrote a snapshot first (then
 * the restarted server loads it, like a Redis restarted with its RDB file).
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'signalling-hub-redis-'));

  private constructor(readonly port: number) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    try {
      await server.start();
    } catch (error) {
      // Nothing left behind when it could not start: no process, no temporary directory.
      await server.dispose();
      throw error;
    }
    return server;
  }

  /** (Re)starts the server on its port and waits until it answers. */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('redis-server is already running');
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${stderr}`)));
      // ENOENT when it is not installed: one clear error instead of an uncaught one (`npm test` installs it).
      child.once('error', (error) =>
        reject(new Error(`cannot start redis-server (${error.message}): apt-get install -y redis-server`)),
      );
    });
    let gone = false;
    exited.catch(() => (gone = true));
    await Promise.race([waitForPong(this.port, Date.now() + 10_000, () => gone), exited]);
  }

  /** Writes a snapshot that the next `start()` loads; `kill({ keepData: false })` throws it away. */
  async save(): Promise<void> {
    const reply = await inline(this.port, 'SAVE', 5000);
    if (reply !== '+OK') throw new Error(`SAVE answered ${reply}`);
  }

  /**
   * Freezes the server with SIGSTOP: its connections stay open and nothing is
   * answered, like a Redis that swaps or hangs. `resume()` thaws it.
   */
  pause(): void {
    if (this.child?.pid === undefined) throw new Error('redis-server is not running');
    this.child.kill('SIGSTOP');
  }

  /** Thaws a server frozen by `pause()` (SIGCONT); it answers what queued up meanwhile. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /**
   * Runs one inline command (e.g. `CLIENT PAUSE 1000 ALL`) and returns the reply's first line
   * (`undefined` when none came within `timeoutMs`).
   */
  command(command: string, timeoutMs?: number): Promise<string | undefined> {
    return inline(this.port, command, timeoutMs);
  }

  /** SIGKILLs the server and waits until it is gone; the data goes unless `keepData` and a `save()` came first. */
  async kill({ keepData = false } = {}): Promise<void> {
    const child = this.child;
    this.child = undefined;
    // A child that never started (spawn failed) has no pid and never emits `exit`.
    if (child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
    if (!keepData) rmSync(join(this.dir, 'dump.rdb'), { force: true });
  }

  /** Kills the server and removes its directory. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
