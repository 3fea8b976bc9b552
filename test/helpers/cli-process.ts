import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Builds the CLI from the current sources into a private directory, so that
 * a concurrent `tsup` (which cleans `dist/`) cannot pull it away while the
 * tests run. Under `node_modules/` so that `ws` and `redis` resolve.
 * `remove()` deletes it.
 */
export async function buildCli(): Promise<{ script: string; remove(): void }> {
  const outDir = join(root, 'node_modules/.cache/signalling-hub-tests', `cli-${process.pid}`);
  mkdirSync(outDir, { recursive: true });
  await build({
    entry: { cli: join(root, 'src/cli.ts') },
    outDir,
    format: ['esm'],
    target: 'node20',
    silent: true,
    config: false,
    splitting: false,
    clean: true,
  });
  return { script: join(outDir, 'cli.js'), remove: () => rmSync(outDir, { recursive: true, force: true }) };
}

/** A `signalling-hub` CLI process, started and waited on until it prints its URL. */
export class CliProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Starts the CLI; `env` is added to the test's environment. */
  static async start(script: string, args: string[], timeoutMs = 15_000, env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the CLI did not print its URL within ${timeoutMs} ms: ${output}`));
      }, timeoutMs);
      const onData = (data: Buffer) => {
        output += data.toString();
        const match = /listening on (ws:\/\/[^\s"]+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!.replace('localhost', '127.0.0.1'));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the CLI exited with ${code}: ${output}`));
      });
    });
    const cli = new CliProcess(child, url);
    cli.output = output;
    child.stdout.on('data', (data: Buffer) => (cli.output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (cli.output += data.toString()));
    return cli;
  }

  /** The HTTP origin of the server (`http://127.0.0.1:PORT`). */
  get origin(): string {
    return new URL(this.url).origin.replace(/^ws:/, 'http:');
  }

  /** What the process wrote so far, as lines. */
  lines(): string[] {
    return this.output.split('\n').filter((line) => line !== '');
  }

  /** Kills the process (SIGKILL unless told otherwise) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}
