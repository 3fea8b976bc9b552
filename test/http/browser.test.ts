import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignallingHub } from '../../src/index.js';
import { attach, type Attachment } from '../../src/ws.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Nginx } from '../helpers/nginx.js';
import { TestClient } from '../helpers/test-client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A page without `WebSocket`: it deletes it before anything runs, then logs
 * in with `SignallingClient` over `HttpSocket` (the only way it has), answers
 * offers and records what it receives.
 */
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>HTTP fallback</title>
<script>delete window.WebSocket;</script>
<script type="module">
import { SignallingClient, HttpSocket } from './client.js';
const params = new URLSearchParams(location.search);
window.received = [];
window.hasWebSocket = typeof WebSocket !== 'undefined';
window.start = async (name) => {
  const sockets = [];
  const options = params.has('streamTimeout') ? { streamTimeout: Number(params.get('streamTimeout')) } : {};
  class Socket extends HttpSocket.with(options) {
    constructor(url) { super(url); sockets.push(this); }
  }
  const client = new SignallingClient(location.origin.replace(/^http/, 'ws') + '/signalling', { WebSocket: Socket });
  window.client = client;
  client.on('offer', ({ from, offer }) => {
    window.received.push('offer from ' + from + ': ' + offer.sdp);
    client.answer(from, { type: 'answer', sdp: 'answer to ' + offer.sdp });
  });
  client.on('candidate', ({ from, candidate }) => window.received.push('candidate from ' + from + ': ' + candidate.candidate));
  await client.login(name);
  return sockets[0].transport;
};
window.ready = true;
</script></head><body></body></html>`;

describe('a browser page without WebSocket signals over the HTTP fallback (headless Chromium)', () => {
  let hub: SignallingHub;
  let server: Server;
  let attachment: Attachment;
  let port: number;
  let browser: Browser;
  let plain: Nginx;
  let buffering: Nginx;
  let bundle: string;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/client.js'))) {
      throw new Error('dist/client.js is missing: run `npm run build` first (`npm test` does it)');
    }
    // The built client, with HttpSocket from its source file (it has no imports), bundled for the browser.
    const dir = mkdtempSync(join(tmpdir(), 'signalling-hub-http-page-'));
    try {
      const entry = join(dir, 'entry.ts');
      writeFileSync(
        entry,
        `export { SignallingClient } from ${JSON.stringify(join(root, 'dist/client.js'))};\n` +
          `export { HttpSocket } from ${JSON.stringify(join(root, 'src/client/http-socket.ts'))};\n`,
      );
      await build({
        entry: { client: entry },
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
      if (request.url === '/client.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
      } else if (request.url?.startsWith('/page')) {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
      } else {
        response.writeHead(404).end();
      }
    });
    attachment = attach(hub, server, { path: '/signalling', closeTimeout: 100 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    plain = await Nginx.start({ upstreamPort: port });
    buffering = await Nginx.start({ upstreamPort: port, locationDirectives: 'proxy_ignore_headers X-Accel-Buffering;' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await attachment?.close();
    await hub?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await plain?.stop();
    await buffering?.stop();
  });

  async function open(origin: string, name: string, query = ''): Promise<{ page: Page; transport: string; errors: string[] }> {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    await tab.goto(`${origin}/page${query}`);
    await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    expect(await tab.evaluate(() => (window as unknown as { hasWebSocket: boolean }).hasWebSocket)).toBe(false);
    const transport = await tab.evaluate(
      (login) => (window as unknown as { start(name: string): Promise<string> }).start(login),
      name,
    );
    return { page: tab, transport, errors };
  }

  /** A WebSocket peer (Node, connected directly) offers to the page's peer and gets its answer. */
  async function converse(pageTab: Page, pageName: string, peerName: string): Promise<void> {
    const peer = await TestClient.connect(`ws://127.0.0.1:${port}/signalling`);
    try {
      expect(await peer.login(peerName)).toMatchObject({ success: true });
      peer.send({ type: 'offer', offer: { type: 'offer', sdp: `v=0 ${peerName}` }, name: pageName });
      expect(await peer.nextOf('answer', 10000)).toEqual({
        type: 'answer',
        answer: { type: 'answer', sdp: `answer to v=0 ${peerName}` },
        name: pageName,
      });
      for (const n of [1, 2, 3]) peer.send({ type: 'candidate', candidate: { candidate: `c${n}` }, name: pageName });
      await pageTab.waitForFunction((count) => (window as unknown as { received: string[] }).received.length === count, 4, {
        timeout: 10000,
      });
      expect(await pageTab.evaluate(() => (window as unknown as { received: string[] }).received)).toEqual([
        `offer from ${peerName}: v=0 ${peerName}`,
        `candidate from ${peerName}: c1`,
        `candidate from ${peerName}: c2`,
        `candidate from ${peerName}: c3`,
      ]);
    } finally {
      peer.close();
    }
  }

  it('logs in and exchanges offer, answer and candidates with a WebSocket peer, straight to the server', async () => {
    const { page: tab, transport, errors } = await open(`http://127.0.0.1:${port}`, 'page-direct');
    expect(transport).toBe('stream');
    expect(attachment.httpSessions).toBeGreaterThanOrEqual(1);
    await converse(tab, 'page-direct', 'node-direct');
    expect(errors).toEqual([]);
    await tab.evaluate(() => (window as unknown as { client: { close(): Promise<void> } }).client.close());
    await tab.context().close();
  });

  it('does the same behind nginx left at its defaults, streaming', async () => {
    const { page: tab, transport, errors } = await open(plain.origin, 'page-nginx');
    expect(transport).toBe('stream');
    await converse(tab, 'page-nginx', 'node-nginx');
    expect(errors).toEqual([]);
    await tab.context().close();
  });

  it('does the same behind a proxy that buffers every stream, by long-polling', async () => {
    const { page: tab, transport, errors } = await open(buffering.origin, 'page-buffered', '?streamTimeout=1000');
    expect(transport).toBe('poll');
    await converse(tab, 'page-buffered', 'node-buffered');
    expect(errors).toEqual([]);
    await tab.context().close();
  });
});
