import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignallingHub } from '../../src/index.js';
import { attach, type Attachment } from '../../src/ws.js';
import { launchChromium } from '../helpers/chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A page that logs in with the browser's own WebSocket and reports how the login ended. */
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>refused</title>
<script type="module">
import { SignallingClient } from './client.js';
window.start = async (query) => {
  const transports = [];
  const client = new SignallingClient('/signalling' + query, { reconnectDelay: 50 });
  client.on('transport', ({ transport }) => transports.push(transport));
  try {
    const { name } = await client.login('page');
    await client.close();
    return { name, transports };
  } catch (error) {
    return { reason: error.reason, status: error.status, code: error.code, state: client.state, transports };
  }
};
window.ready = true;
</script></head><body></body></html>`;

describe('a browser page learns that its WebSocket was refused, through the probe (headless Chromium)', () => {
  let hub: SignallingHub;
  let server: Server;
  let attachment: Attachment;
  let browser: Browser;
  let origin: string;
  const seen = { upgrades: 0, probes: 0, sessionPosts: 0 };

  beforeAll(async () => {
    // The client from its sources, bundled for the browser as an app would.
    const dir = mkdtempSync(join(tmpdir(), 'signalling-hub-refusal-page-'));
    let bundle: string;
    try {
      await build({
        entry: { client: join(root, 'src/client.ts') },
        outDir: dir,
        format: ['esm'],
        platform: 'browser',
        target: 'es2020',
        noExternal: ['eventemitter3'],
        silent: true,
        config: false,
        tsconfig: join(root, 'tsconfig.json'),
      });
      bundle = readFileSync(join(dir, 'client.js'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    hub = new SignallingHub();
    server = createServer((request, response) => {
      if (request.url === '/client.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else if (request.url === '/page') response.writeHead(200, { 'content-type': 'text/html' }).end(page);
      else response.writeHead(404).end();
    });
    attachment = attach(hub, server, {
      path: '/signalling',
      verifyUpgrade: (request: IncomingMessage) => {
        if (request.method === 'POST') seen.sessionPosts++;
        else if ((request.url ?? '').includes('probe=1')) seen.probes++;
        else seen.upgrades++;
        return new URL(request.url ?? '/', 'http://host').searchParams.get('token') === 'good';
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await attachment?.close();
    await hub?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function loginFrom(query: string): Promise<Record<string, unknown>> {
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(`${origin}/page`);
      await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      return await tab.evaluate(
        (q) => (window as unknown as { start(query: string): Promise<Record<string, unknown>> }).start(q),
        query,
      );
    } finally {
      await context.close();
    }
  }

  it('sees `unauthorized` (401) instead of a bare 1006, opens no HTTP session and stops', async () => {
    const result = await loginFrom('?token=bad');
    expect(result).toEqual({
      reason: 'unauthorized',
      status: 401,
      code: 'SH_ERR_LOGIN',
      state: 'closed',
      transports: ['websocket'],
    });
    expect(seen).toEqual({ upgrades: 1, probes: 1, sessionPosts: 0 });
  });

  it('still logs in over its WebSocket when admitted', async () => {
    expect(await loginFrom('?token=good')).toEqual({ name: 'page', transports: ['websocket'] });
  });
});
