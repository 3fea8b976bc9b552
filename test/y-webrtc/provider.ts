import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./provider-child.mjs', import.meta.url));

/** A real y-webrtc `WebrtcProvider` with a Y.Doc in a child process (see provider-child.mjs). */
export class ProviderProcess {
  /** The shared text as last reported. */
  text = '';
  peers = 0;
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
  readonly lines: string[] = [];
  private readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      const message = JSON.parse(line) as { text?: string; peers?: number };
      if (message.text !== undefined) this.text = message.text;
      if (message.peers !== undefined) this.peers = message.peers;
      this.waiters = this.waiters.filter((waiter) => (waiter.test() ? (waiter.resolve(), false) : true));
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static start(url: string, room: string, password?: string): ProviderProcess {
    const child = spawn(process.execPath, [script, url, room, password ?? ''], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new ProviderProcess(child);
  }

  insert(text: string): void {
    this.child.stdin!.write(JSON.stringify({ insert: text }) + '\n');
  }

  /** Waits until `test` holds (checked on every report), or fails after `timeoutMs`. */
  until(test: (provider: ProviderProcess) => boolean, what: string, timeoutMs = 20000): Promise<void> {
    if (test(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what}: not within ${timeoutMs} ms; reports: ${this.lines.join(' ')}`)),
        timeoutMs,
      );
      this.waiters.push({
        test: () => test(this),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin!.write(JSON.stringify({ quit: true }) + '\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}
