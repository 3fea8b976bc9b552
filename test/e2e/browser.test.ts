import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/args.js';
import { type StandaloneServer, startStandalone } from '../../src/cli/server.js';
import { launchChromium } from '../helpers/chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const outputDirectory = join(root, 'test-output');

describe('the demo page in Chromium, through the standalone server', () => {
  let server: StandaloneServer;
  let browser: Browser;
  let context: BrowserContext;
  let origin: string;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/demo/demo.js')) || !existsSync(join(root, 'dist/demo/index.html'))) {
      throw new Error('dist/demo/ is missing: run `npm run build` first (`npm test` does it)');
    }
    server = await startStandalone(parseCliArgs(['--port', '0', '--host', '127.0.0.1']));
    origin = server.url.replace(/^ws:/, 'http:').replace(/\/$/, '');
    // launch() gives the browser a fresh temporary profile of its own.
    browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
    context = await browser.newContext();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves the page at / with the WebSocket path filled in, its script, and 404 elsewhere', async () => {
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<meta name="signalling-path" content="/">');
    const script = await fetch(`${origin}/demo.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await script.text()).length).toBeGreaterThan(1000);
    expect((await fetch(`${origin}/nothing-here`)).status).toBe(404);
    expect((await fetch(`${origin}/`, { method: 'POST' })).status).toBe(405);

    const elsewhere = await startStandalone(parseCliArgs(['--port', '0', '--host', '127.0.0.1', '--path', '/signal"ling']));
    try {
      const html = await (await fetch(elsewhere.url.replace(/^ws:/, 'http:').replace(/\/signal.*$/, '/'))).text();
      expect(html).toContain('<meta name="signalling-path" content="/signal&quot;ling">');
    } finally {
      await elsewhere.close();
    }
  });

  async function open(name: string): Promise<Page> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${origin}/`);
    await page.fill('#name', name);
    await page.click('#login');
    await page.locator('#status', { hasText: `logged in as ${name}` }).waitFor({ timeout: 10000 });
    expect(errors).toEqual([]);
    return page;
  }

  async function logOf(page: Page): Promise<string[]> {
    return page.locator('#log li').allTextContents();
  }

  it('two tabs log in, one calls the other, and they chat over a data channel (with video from a camera)', async () => {
    const alice = await open('alice');
    const bob = await open('bob');

    // Only alice has a (fake) camera running; bob receives her video.
    await alice.click('#camera');
    await alice.waitForFunction(() => (document.getElementById('local') as HTMLVideoElement).srcObject !== null);

    await alice.fill('#callee', 'bob');
    await alice.click('#call');
    await alice.waitForSelector('body[data-call="open"]', { timeout: 15000 });
    await bob.waitForSelector('body[data-call="open"]', { timeout: 15000 });

    await alice.fill('#message', 'hello bob');
    await alice.click('#send');
    await bob.locator('#log li', { hasText: 'alice: hello bob' }).waitFor({ timeout: 10000 });
    await bob.fill('#message', 'hi alice');
    await bob.press('#message', 'Enter');
    await alice.locator('#log li', { hasText: 'bob: hi alice' }).waitFor({ timeout: 10000 });

    expect(await logOf(alice)).toEqual([
      'Signalling over WebSocket',
      'Calling bob…',
      'Chat open with bob',
      'me: hello bob',
      'bob: hi alice',
    ]);
    expect(await logOf(bob)).toEqual([
      'Signalling over WebSocket',
      'Incoming call from alice',
      'Chat open with alice',
      'alice: hello bob',
      'me: hi alice',
    ]);
    await bob.waitForFunction(() => (document.getElementById('remote') as HTMLVideoElement).videoWidth > 0, undefined, {
      timeout: 15000,
    });

    mkdirSync(outputDirectory, { recursive: true });
    await alice.screenshot({ path: join(outputDirectory, 'demo-alice.png'), fullPage: true });
    await bob.screenshot({ path: join(outputDirectory, 'demo-bob.png'), fullPage: true });

    await alice.click('#hangup');
    await bob.locator('#log li', { hasText: 'Call with alice ended (leave)' }).waitFor({ timeout: 10000 });
    expect(await bob.getAttribute('body', 'data-call')).toBe('none');
  });
});
