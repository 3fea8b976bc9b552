import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The TURN REST API credential coturn's `use-auth-secret` accepts: `<unix expiry>:<user>`, base64(HMAC-SHA1). */
export function turnCredential(secret: string, user: string, expiresAt: number): { username: string; credential: string } {
  const username = `${Math.floor(expiresAt)}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((directory) => {
    try {
      accessSync(join(directory, command), constants.X_OK);
      return directory !== '';
    } catch {
      return false;
    }
  });
}

/** Whether UDP `port` on 127.0.0.1 can be bound right now. */
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** `count` consecutive UDP ports on loopback that are free now, from a random base (a few tries). */
async function freeUdpRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    // Below Linux's ephemeral range (32768+), where clients' own sockets land.
    const base = 20000 + 2 * Math.floor(Math.random() * 6000);
    const checks = await Promise.all(Array.from({ length: count }, (_, index) => udpFree(base + index)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free UDP ports found on 127.0.0.1`);
}

/** One STUN Binding request to 127.0.0.1:`port`; resolves whether a Binding success response came back. */
function stunBinding(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(request, 8);
    const done = (answered: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.on('message', (reply) => {
      if (reply.length >= 20 && reply.readUInt16BE(0) === 0x0101 && reply.subarray(8, 20).equals(request.subarray(8, 20))) {
        done(true);
      }
    });
    socket.send(request, port, '127.0.0.1');
  });
}

/** Bytes of coturn's output kept for `log` (it logs little without `--verbose`). */
const MAX_LOG = 1 << 20;

/**
 * A real coturn (`turnserver`) child on loopback, as a deployment runs it for
 * TURN REST credentials: `use-auth-secret` with `static-auth-secret`, UDP
 * only, relaying on 127.0.0.1 from a small port range, loopback peers
 * allowed, no CLI, TLS or DTLS. Its database and pid file live in a temporary
 * directory that `stop()` removes; its log goes to stdout, kept in `log`.
 */
export class Coturn {
  private readonly child: ChildProcess;
  private output = '';
  private readonly exited: Promise<void>;
  private gone = false;
  private spawnError: Error | undefined;

  private constructor(
    readonly secret: string,
    readonly realm: string,
    /** The listening (UDP) port on 127.0.0.1. */
    readonly port: number,
    /** The relay port range. */
    readonly relayPorts: { min: number; max: number },
    private readonly dir: string,
  ) {
    this.child = spawn(
      'turnserver',
      [
        '-n', // no configuration file: only these options
        `--listening-ip=127.0.0.1`,
        `--listening-port=${port}`,
        `--relay-ip=127.0.0.1`,
        `--min-port=${relayPorts.min}`,
        `--max-port=${relayPorts.max}`,
        '--use-auth-secret',
        `--static-auth-secret=${secret}`,
        `--realm=${realm}`,
        '--allow-loopback-peers',
        '--no-cli',
        '--no-tls',
        '--no-dtls',
        '--no-tcp',
        '--no-tcp-relay',
        '--no-rfc5780',
        `--userdb=${join(dir, 'turndb')}`,
        `--pidfile=${join(dir, 'turnserver.pid')}`,
        '--log-file=stdout',
        '--simple-log',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (data: Buffer) => {
      if (this.output.length < MAX_LOG) this.output += data.toString();
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    void this.exited.then(() => (this.gone = true));
    // ENOENT and the like: reported by ready() instead of an uncaught error.
    this.child.once('error', (error) => (this.spawnError = error));
  }

  /** `turn:127.0.0.1:<port>?transport=udp` */
  get url(): string {
    return `turn:127.0.0.1:${this.port}?transport=udp`;
  }

  /** What coturn logged so far (refusals show as `check_stun_auth: Cannot find credentials of user <…>`). */
  get log(): string {
    return this.output;
  }

  /**
   * Starts coturn with `secret` and waits until it answers a STUN Binding
   * request. Throws a clear error when `turnserver` is not installed (Debian
   * package `coturn`), or with coturn's output when it exits or stays silent.
   */
  static async start({ secret, realm = 'signalling-hub.test' }: { secret: string; realm?: string }): Promise<Coturn> {
    if (!onPath('turnserver')) {
      throw new Error('turnserver (coturn) is not installed, and the TURN tests need it: apt-get install -y coturn');
    }
    // Listening port first, then the relay range above it, all free now.
    const base = await freeUdpRange(41);
    const dir = mkdtempSync(join(tmpdir(), 'signalling-hub-coturn-'));
    const server = new Coturn(secret, realm, base, { min: base + 1, max: base + 40 }, dir);
    try {
      await server.ready();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  private async ready(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await stunBinding(this.port, 200))) {
      if (this.spawnError !== undefined) {
        throw new Error(`cannot start turnserver (${this.spawnError.message}): apt-get install -y coturn`);
      }
      if (this.gone) throw new Error(`turnserver exited at start-up:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`turnserver did not answer STUN on 127.0.0.1:${this.port}:\n${this.output}`);
    }
  }

  /** Stops coturn (SIGTERM, SIGKILL after 2 s) and removes its directory. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
