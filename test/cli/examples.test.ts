import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestClient } from '../helpers/test-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** An example run as `npm run example:*` runs it (tsx), on a free port; resolves with its origin. */
async function startExample(file: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start: ${output}`)), 20_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /http:\/\/localhost:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}: ${output}`)));
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

const running: ChildProcess[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(
    running.splice(0).map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
          child.once('exit', resolve);
          child.kill('SIGKILL');
        }),
    ),
  );
});

async function connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
  const client = await TestClient.connect(url, options);
  clients.push(client);
  return client;
}

describe('the examples', () => {
  it('are run by npm scripts that build first only when needed', () => {
    const { scripts } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(scripts['example:http']).toBe('node scripts/build-if-stale.mjs && tsx examples/http-server.ts');
    expect(scripts['example:express']).toBe('node scripts/build-if-stale.mjs && tsx examples/express-server.ts');
  });

  it('http-server.ts serves the app and lets guests in, others only with SIGNALLING_KEY', async () => {
    const { origin } = await startExample('examples/http-server.ts', { SIGNALLING_KEY: 'open-sesame' });
    const page = await fetch(`${origin}/`);
    expect(await page.text()).toBe('my app\n');
    const url = `${origin.replace('http:', 'ws:')}/signalling`;
    expect(await (await connect(url)).login('guest-1')).toMatchObject({ success: true });
    expect(await (await connect(url)).login('bob')).toMatchObject({ success: false, reason: 'unauthorized' });
    expect(await (await connect(url)).login('bob', { key: 'open-sesame' })).toMatchObject({ success: true });
  });

  it('express-server.ts keeps its admin routes and metrics behind ADMIN_TOKEN', async () => {
    const token = 'test-admin-token';
    const { origin } = await startExample('examples/express-server.ts', { ADMIN_TOKEN: token });
    const admin = { authorization: `Bearer ${token}` };
    expect((await fetch(`${origin}/admin/peers`)).status).toBe(401);
    expect((await fetch(`${origin}/admin/peers`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${origin}/admin/peers/alice/kick`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${origin}/metrics`)).status).toBe(401);

    const url = `${origin.replace('http:', 'ws:')}/signalling`;
    await expect(TestClient.connect(url)).rejects.toThrow(/401/);
    const alice = await connect(url, { headers: { cookie: 'session=abc' } });
    expect(await alice.login('alice')).toMatchObject({ success: true });
    expect(await (await fetch(`${origin}/admin/peers`, { headers: admin })).json()).toEqual(['alice']);
    const metrics = await (await fetch(`${origin}/metrics`, { headers: admin })).text();
    expect(metrics).toMatch(/^signalling_hub_logins_total 1$/m);
    const kick = await fetch(`${origin}/admin/peers/alice/kick`, { method: 'POST', headers: admin });
    expect(await kick.json()).toEqual({ kicked: true });
    expect((await alice.closed).code).toBe(4403);
  });

  it('express-server.ts without ADMIN_TOKEN refuses every admin request', async () => {
    const { origin } = await startExample('examples/express-server.ts', { ADMIN_TOKEN: '' });
    const response = await fetch(`${origin}/admin/peers`, { headers: { authorization: 'Bearer ' } });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: 'the admin API is off: set ADMIN_TOKEN to turn it on' });
    expect((await fetch(`${origin}/metrics`)).status).toBe(403);
  });
});
