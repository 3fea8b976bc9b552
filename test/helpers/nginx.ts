import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

/** Resolves whether something accepts TCP connections on `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

export interface NginxOptions {
  /** The loopback port of the server nginx proxies to. */
  upstreamPort: number;
  /** Directives added to the proxying `location /` (e.g. `proxy_ignore_headers X-Accel-Buffering;`). */
  locationDirectives?: string;
}

/**
 * A real `nginx` (Debian's package) in front of a loopback server, as a
 * plain reverse proxy with nginx's defaults: `proxy_pass` alone, so HTTP/1.0
 * to the upstream, no `Upgrade`/`Connection` forwarded (WebSocket upgrades
 * do not get through) and responses buffered (unless the upstream says
 * `X-Accel-Buffering: no`). It runs in the foreground as a child of the test
 * (`daemon off`, one process), with its configuration, pid file, logs and
 * temporary files in a temporary directory that `stop()` removes.
 */
export class Nginx {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** `http://127.0.0.1:<port>` */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(options: NginxOptions): Promise<Nginx> {
    const dir = mkdtempSync(join(tmpdir(), 'signalling-hub-nginx-'));
    const port = await freePort();
    const config = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client-body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${options.upstreamPort};
      ${options.locationDirectives ?? ''}
    }
  }
}
`;
    writeFileSync(join(dir, 'nginx.conf'), config);
    // -e: the error log before the configuration is read (else nginx tries /var/log/nginx/error.log).
    const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    const nginx = new Nginx(child, dir, port);
    const deadline = Date.now() + 10000;
    while (!(await accepts(port))) {
      if (exited || Date.now() > deadline) {
        const log = (() => {
          try {
            return readFileSync(join(dir, 'error.log'), 'utf8');
          } catch {
            return '';
          }
        })();
        await nginx.stop();
        throw new Error(`nginx did not start on port ${port}: ${stderr}${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return nginx;
  }

  /** Stops nginx (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
