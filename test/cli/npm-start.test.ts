import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `npm start` runs scripts/start.mjs: port check first, then a silent build only when dist/ is stale. */
describe('npm start', () => {
  let checkout: string;
  let busy: Server;
  let port: number;

  beforeAll(async () => {
    // A checkout without dist/ or node_modules/: any build it tried would fail loudly.
    checkout = mkdtempSync(join(tmpdir(), 'signalling-hub-start-'));
    mkdirSync(join(checkout, 'scripts'));
    for (const script of ['start.mjs', 'build-if-stale.mjs'])
      copyFileSync(join(root, 'scripts', script), join(checkout, 'scripts', script));
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => busy?.close(resolve));
    if (checkout) rmSync(checkout, { recursive: true, force: true });
  });

  it('on a port in use, fails with one clear line before it touches dist/', () => {
    for (const [args, env] of [
      [['--port', String(port), '--host', '127.0.0.1'], {}],
      [[`--port=${port}`, '--host=127.0.0.1'], {}],
      [[], { PORT: String(port), HOST: '127.0.0.1' }],
    ] as const) {
      const result = spawnSync(process.execPath, [join(checkout, 'scripts/start.mjs'), ...args], {
        cwd: checkout,
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `signalling-hub: port ${port} is already in use (another \`npm start\`?): stop that server, or choose another port: npm start -- --port ${port + 1}\n`,
      );
    }
    expect(existsSync(join(checkout, 'dist'))).toBe(false);
  });

  it('is the start script, with no build of its own', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toBe('node scripts/start.mjs');
  });
});
