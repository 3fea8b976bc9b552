import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../helpers/redis-server.js';
import { TestClient } from '../helpers/test-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const repository = 'https://github.com/signalling-hub/signalling-hub';

/**
 * A copy of the working tree as a fresh checkout has it (the files git knows
 * or would add, no dist/), with the project's node_modules linked in, so that
 * `npm pack` there runs `prepack` as on a contributor's machine without
 * touching the dist/ that other suites use.
 */
function cleanCheckout(into: string): void {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    // A symlinked node_modules (a git worktree sharing one) is not ignored by `node_modules/`: skip it.
    .filter((file) => file !== '' && file !== 'node_modules' && existsSync(join(root, file)));
  for (const file of files) {
    mkdirSync(dirname(join(into, file)), { recursive: true });
    copyFileSync(join(root, file), join(into, file));
  }
  symlinkSync(join(root, 'node_modules'), join(into, 'node_modules'), 'dir');
}

/** The README's embed snippet and the CLI in a fresh app that installed the packed tarball, as a user would. */
describe('the published package', () => {
  let work: string;
  let app: string;
  let files: string[];
  let packedReadme: string;
  let packedManifest: Record<string, unknown>;
  let packStdout: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'signalling-hub-pack-'));
    try {
      const checkout = join(work, 'checkout');
      app = join(work, 'app');
      mkdirSync(app, { recursive: true });
      cleanCheckout(checkout);
      expect(existsSync(join(checkout, 'dist'))).toBe(false);
      // What release tools read: `--json` must print the JSON and nothing else on stdout (the build logs elsewhere).
      packStdout = execFileSync(npm, ['pack', '--json', '--pack-destination', app], {
        cwd: checkout,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const tarball = readdirSync(app).find((file) => file.endsWith('.tgz'))!;
      files = execFileSync('tar', ['-tzf', join(app, tarball)], { encoding: 'utf8' })
        .split('\n')
        .filter((file) => file !== '')
        .map((file) => file.replace(/^package\//, ''));
      packedReadme = execFileSync('tar', ['-xzOf', join(app, tarball), 'package/README.md'], { encoding: 'utf8' });
      packedManifest = JSON.parse(
        execFileSync('tar', ['-xzOf', join(app, tarball), 'package/package.json'], { encoding: 'utf8' }),
      ) as Record<string, unknown>;
      rmSync(checkout, { recursive: true, force: true });
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
      execFileSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(app, tarball)], {
        cwd: app,
        stdio: 'ignore',
      });
    } catch (error) {
      rmSync(work, { recursive: true, force: true });
      throw error;
    }
  }, 240_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is built by prepack from a clean checkout: every entry point, the CLI and its demo, the docs, and nothing else', () => {
    const entries = ['index', 'ws', 'client', 'redis', 'prometheus', 'peerjs', 'y-webrtc'];
    for (const entry of entries) {
      for (const extension of ['js', 'cjs', 'd.ts', 'd.cts']) expect(files).toContain(`dist/${entry}.${extension}`);
    }
    for (const file of [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'dist/cli.js',
      'dist/demo/index.html',
      'dist/demo/demo.js',
    ]) {
      expect(files).toContain(file);
    }
    for (const file of ['docs/PROTOCOL.md', 'docs/CLIENT.md', 'docs/CLUSTER.md', 'docs/PEERJS.md', 'docs/Y-WEBRTC.md'])
      expect(files).toContain(file);
    const allowed =
      /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|docs\/(PROTOCOL|CLIENT|CLUSTER|PEERJS|Y-WEBRTC)\.md|dist\/.+\.(js|cjs|d\.ts|d\.cts|map|html|css|svg|ico))$/;
    expect(files.filter((file) => !allowed.test(file))).toEqual([]);
  });

  it('`npm pack --json` prints only JSON on stdout, naming the tarball it made', () => {
    const report = JSON.parse(packStdout) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
    expect(report).toHaveLength(1);
    expect(report[0]!.name).toBe('signalling-hub');
    expect(report[0]!.filename).toMatch(/^signalling-hub-.+\.tgz$/);
    expect(report[0]!.files.map((file) => file.path).sort()).toEqual([...files].sort());
  });

  it('links to its repository, and its README links resolve from the npm page', () => {
    expect(packedManifest).toMatchObject({
      repository: { type: 'git', url: `git+${repository}.git` },
      homepage: `${repository}#readme`,
      bugs: { url: `${repository}/issues` },
    });
    const links = [...packedReadme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((link) => !/^(https:\/\/|#)/.test(link))).toEqual([]);
    for (const target of ['examples/http-server.ts', 'examples/express-server.ts', 'docs/BENCHMARKS.md', 'docs/benchmarks.svg']) {
      expect(
        links.some((link) => link.startsWith(repository) || link.startsWith('https://raw.githubusercontent.com/signalling-hub/')),
      ).toBe(true);
      expect(links.some((link) => link.endsWith(target))).toBe(true);
    }
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

  it('loads every entry point from CommonJS, and the bin prints its usage and version', () => {
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
    expect(execFileSync(bin, ['--version'], { cwd: app, encoding: 'utf8' })).toBe(`${String(packedManifest.version)}\n`);
  });

  it('`signalling-hub --redis URL` without the redis package says in one line what to run', () => {
    const bin = join(app, 'node_modules', '.bin', 'signalling-hub');
    const result = spawnSync(bin, ['--port', '0', '--host', '127.0.0.1', '--redis', 'redis://127.0.0.1:6379'], {
      cwd: app,
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERROR cannot start: --redis needs the redis package/);
    expect(lines[0]).toContain('`npx -p signalling-hub -p redis signalling-hub --redis URL`');
    expect(lines[0]).toContain('`npm install redis`');
  });

  it('with redis and prom-client installed next to it, the CLI joins Redis and the prometheus entry loads', async () => {
    const installed = (name: string) =>
      (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    execFileSync(
      npm,
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        `redis@${installed('redis')}`,
        `prom-client@${installed('prom-client')}`,
      ],
      { cwd: app, stdio: 'ignore' },
    );
    writeFileSync(
      join(app, 'metrics.cjs'),
      `const { Registry } = require('prom-client');
const { SignallingHub } = require('signalling-hub');
const { registerHubMetrics } = require('signalling-hub/prometheus');
const registry = new Registry();
registerHubMetrics(new SignallingHub(), { registry });
registry.metrics().then((text) => console.log(text.match(/^signalling_hub_logins_total \\d+$/m)[0]));`,
    );
    expect(execFileSync(process.execPath, ['metrics.cjs'], { cwd: app, encoding: 'utf8' }).trim()).toBe(
      'signalling_hub_logins_total 0',
    );

    const redis = await RedisServer.start();
    const bin = join(app, 'node_modules', '.bin', 'signalling-hub');
    const child = spawn(bin, ['--port', '0', '--host', '127.0.0.1', '--redis', redis.url], {
      cwd: app,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let output = '';
      child.stderr.on('data', (data: Buffer) => (output += data.toString()));
      await expect.poll(() => output, { timeout: 15_000 }).toMatch(/listening on ws:/);
      expect(output).toMatch(/INFO {2}backplane connected/);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await redis.dispose();
    }
  }, 120_000);
});
