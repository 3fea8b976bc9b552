import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SignallingHubError } from '../../src/index.js';
import { fastPathSupports, installedWsVersion } from '../../src/transports/ws/fast-path/version.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';
import { fullConversation } from './conversation.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the ws fast path', () => {
  let hub: HubServer | undefined;
  afterEach(async () => {
    vi.unstubAllEnvs();
    await hub?.close();
    hub = undefined;
  });

  async function start(options?: { fastPath?: boolean }): Promise<{ hub: HubServer; warnings: SignallingHubError[] }> {
    const warnings: SignallingHubError[] = [];
    hub = await startHubServer({}, options);
    hub.hub.on('warning', (warning) => warnings.push(warning));
    return { hub, warnings };
  }

  it('engages with the installed ws, which is in the tested range', async () => {
    const installed = (JSON.parse(readFileSync(`${root}node_modules/ws/package.json`, 'utf8')) as { version: string }).version;
    expect(installedWsVersion()).toBe(installed);
    expect(fastPathSupports(installed)).toBe(true);
    const { hub, warnings } = await start();
    expect(hub.attachment.fastPath).toBe(true);
    await fullConversation(hub);
    // No connection found ws's internals changed.
    expect(hub.attachment.fastPath).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('relays frames of many lengths whole, non-ASCII ones and one past the reused buffer included', async () => {
    const { hub } = await start();
    const [a, b] = await Promise.all([TestClient.connect(hub.url), TestClient.connect(hub.url)]);
    await a.login('a');
    await b.login('b');
    // Lengths repeat (the hub reuses a buffer and its views per length); a long offer makes the buffer grow.
    const payloads = ['x', 'é😀', 'y'.repeat(300), 'ü'.repeat(150), 'z'.repeat(5000), 'x', 'é😀', 'y'.repeat(300)];
    for (const candidate of payloads) a.send({ type: 'candidate', name: 'b', candidate: { candidate } });
    for (const candidate of payloads) {
      expect(await b.next((frame) => frame.type === 'candidate')).toEqual({
        type: 'candidate',
        candidate: { candidate },
        name: 'a',
      });
    }
    a.close();
    b.close();
  });

  it('is off with fastPath: false, silently, and the conversation is the same', async () => {
    const { hub, warnings } = await start({ fastPath: false });
    expect(hub.attachment.fastPath).toBe(false);
    await fullConversation(hub);
    expect(warnings).toEqual([]);
  });

  it.each(['0'])('is off with SIGNALLING_HUB_FAST_PATH=%s', async (value) => {
    vi.stubEnv('SIGNALLING_HUB_FAST_PATH', value);
    const { hub, warnings } = await start();
    expect(hub.attachment.fastPath).toBe(false);
    await fullConversation(hub);
    expect(warnings).toEqual([]);
  });

  it('is on with SIGNALLING_HUB_FAST_PATH=1', async () => {
    vi.stubEnv('SIGNALLING_HUB_FAST_PATH', '1');
    const { hub } = await start();
    expect(hub.attachment.fastPath).toBe(true);
  });

  it.each([
    ['8.21.0', true],
    ['8.23.0', true],
    ['8.30.2', true],
    ['8.21.0-beta.1', true],
    ['8.20.9', false],
    ['8.18.3', false],
    ['9.0.0', false],
    ['7.5.10', false],
    ['garbage', false],
    [undefined, false],
  ])('tells ws %s in the tested range: %s', (version, supported) => {
    expect(fastPathSupports(version)).toBe(supported);
  });

  it('engages in the built ESM and CommonJS entry points (run `npm run build` first)', () => {
    expect(existsSync(`${root}dist/ws.js`) && existsSync(`${root}dist/ws.cjs`)).toBe(true);
    const program = (load: string) => `
      ${load}
      const server = http.createServer();
      const attachment = attach(new SignallingHub(), server, { path: '/x' });
      process.stdout.write(String(attachment.fastPath));`;
    const esm = program(
      `import http from 'node:http'; import { SignallingHub } from './dist/index.js'; import { attach } from './dist/ws.js';`,
    );
    const cjs = program(
      `const http = require('node:http'); const { SignallingHub } = require('./dist/index.cjs'); const { attach } = require('./dist/ws.cjs');`,
    );
    const env = { ...process.env, SIGNALLING_HUB_FAST_PATH: '' };
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', esm], { cwd: root, env, encoding: 'utf8' })).toBe('true');
    expect(execFileSync(process.execPath, ['--input-type=commonjs', '-e', cjs], { cwd: root, env, encoding: 'utf8' })).toBe(
      'true',
    );
  });
});
