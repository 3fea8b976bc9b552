import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/test-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The README's embed snippet in a fresh app that installed the packed tarball, as a user would. */
describe('the published package', () => {
  let app: string;
  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'signalling-hub-app-'));
    const tarball = execFileSync(npm, ['pack', '--silent', '--pack-destination', app], { cwd: root, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(app, tarball)], {
      cwd: app,
      stdio: 'ignore',
    });
  }, 120_000);
  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('serves the embed snippet from an ESM app', async () => {
    writeFileSync(
      join(app, 'server.mjs'),
      `import { createServer } from 'node:http';
import { SignallingHub } from 'signalling-hub';
import { attach } from 'signalling-hub/ws';
const server = createServer((request, response) => response.end('app'));
const hub = new SignallingHub();
hub.on('peer-joined', (peer) => console.log('joined ' + peer.name));
attach(hub, server, { path: '/signalling' });
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`,
    );
    const child = spawn(process.execPath, ['server.mjs'], { cwd: app, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let output = '';
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (data: Buffer) => {
          output += data.toString();
          const match = /port (\d+)/.exec(output);
          if (match) resolve(match[1]!);
        });
        child.on('exit', (code) => reject(new Error(`app exited with ${code}`)));
      });
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/signalling`);
      expect(await client.login('UserA')).toMatchObject({ success: true });
      await expect.poll(() => output).toContain('joined UserA');
      client.close();
    } finally {
      child.kill();
    }
  });

  it('loads every entry point from CommonJS, and the bin prints its usage', () => {
    const script = `const { SignallingHub, CloseCode } = require('signalling-hub');
const { attach } = require('signalling-hub/ws');
const { SignallingClient } = require('signalling-hub/client');
const { RedisBackplane } = require('signalling-hub/redis');
console.log([typeof SignallingHub, typeof attach, typeof SignallingClient, typeof RedisBackplane, CloseCode.LoginTimeout].join(' '));`;
    writeFileSync(join(app, 'check.cjs'), script);
    expect(execFileSync(process.execPath, ['check.cjs'], { cwd: app, encoding: 'utf8' }).trim()).toBe(
      'function function function function 4408',
    );
    const bin = join(app, 'node_modules', '.bin', 'signalling-hub');
    expect(execFileSync(bin, ['--help'], { cwd: app, encoding: 'utf8' })).toMatch(/Usage: signalling-hub/);
  });
});
