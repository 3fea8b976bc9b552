import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseCliArgs } from '../src/cli/args.js';
import { TestClient } from './helpers/test-client.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Starts the built CLI and resolves with the URL it prints. */
function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${output}`)), 10000);
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /listening on (ws:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`CLI exited with ${code}: ${output}`)));
  });
}

describe('the signalling-hub CLI', () => {
  const children: ChildProcess[] = [];
  beforeAll(() => {
    if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints usage for --help', () => {
    const result = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Usage: signalling-hub/);
    expect(result.stdout).toMatch(/--port/);
  });

  it.each([
    [['--port', 'abc'], /--port must be/],
    [['--port', '70000'], /--port must be/],
    [['--path', 'no-slash'], /--path must start/],
    [['--bogus'], /bogus/],
  ])('refuses %j with exit code 2 and a message', (args, message) => {
    const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('serves a tutorial conversation, 404s other paths, and shuts down cleanly on SIGTERM', async () => {
    const { child, url } = await startCli(['--port', '0', '--host', '127.0.0.1', '--path', '/signal']);
    children.push(child);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/signal$/);
    const a = await TestClient.connect(url);
    const b = await TestClient.connect(url);
    expect(await a.login('UserA')).toMatchObject({ success: true });
    expect(await b.login('UserB')).toMatchObject({ success: true });
    a.send({ type: 'offer', offer: { sdp: 'o' }, name: 'UserB' });
    expect(await b.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: 'o' }, name: 'UserA' });
    b.send({ type: 'answer', answer: { sdp: 'a' }, name: 'UserA' });
    expect(await a.nextOf('answer')).toEqual({ type: 'answer', answer: { sdp: 'a' }, name: 'UserB' });
    expect(await a.request('garbage')).toMatchObject({ type: 'error', code: 'invalid-json' });

    const status = await new Promise<number>((resolve) => {
      const stray = new WebSocket(url.replace('/signal', '/elsewhere'));
      stray.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      stray.on('error', () => {});
    });
    expect(status).toBe(404);

    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    expect(await exited).toBe(0);
  });

  it('defaults to port 9090, every interface and path /', () => {
    expect(parseCliArgs([])).toMatchObject({ port: 9090, host: undefined, path: '/', help: false });
  });
});
