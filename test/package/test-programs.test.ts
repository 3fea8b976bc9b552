import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../helpers/redis-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = join(root, 'scripts/test-programs.mjs');

/** `npm test` on a machine without the programs the tests start (redis-server, chromium). */
describe('the test command on a fresh machine', () => {
  const emptyBin = mkdtempSync(join(tmpdir(), 'signalling-hub-empty-bin-'));
  afterAll(() => rmSync(emptyBin, { recursive: true, force: true }));

  it('stops within a second with one line naming what is missing and the command that installs it', () => {
    const result = spawnSync(process.execPath, [script], {
      cwd: root,
      encoding: 'utf8',
      // The check itself is a few file lookups: a second is plenty even on a busy machine.
      timeout: 1000,
      env: { PATH: emptyBin, SIGNALLING_HUB_TEST_NO_INSTALL: '1' },
    });
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^signalling-hub tests: missing redis-server, chromium, turnserver, nginx; install with: (sudo )?apt-get install -y redis-server chromium coturn nginx$/,
    );
  });

  it('the npm test script runs the check before the build and before vitest', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.test).toMatch(/^node scripts\/test-programs\.mjs && /);
  });

  it('a missing redis-server fails RedisServer.start() at once, and leaves no temporary directory', async () => {
    // A private TMPDIR (os.tmpdir() reads it at each call) and a PATH without redis-server.
    const privateTmp = mkdtempSync(join(tmpdir(), 'signalling-hub-tmp-'));
    const saved = { PATH: process.env.PATH, TMPDIR: process.env.TMPDIR };
    process.env.PATH = emptyBin;
    process.env.TMPDIR = privateTmp;
    try {
      await expect(RedisServer.start()).rejects.toThrow(/cannot start redis-server \(.*ENOENT.*\)/);
      expect(readdirSync(privateTmp)).toEqual([]);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.TMPDIR === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved.TMPDIR;
      rmSync(privateTmp, { recursive: true, force: true });
    }
  });
});
