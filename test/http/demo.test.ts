import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli-process.js';
import { Nginx } from '../helpers/nginx.js';
import { launchChromium } from '../helpers/chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/cli.js');

/**
 * The demo pages of the CLI where WebSockets do not get through: behind nginx
 * at its defaults (no `Upgrade` forwarded), and in a page without `WebSocket`.
 * The client falls back to the hub's HTTP fallback by itself, and the call
 * (a real WebRTC data channel between two Chromium pages) works as ever.
 */
describe('the demo over the HTTP fallback, in Chromium', () => {
  let node: CliProcess;
  let nginx: Nginx;
  let browser: Browser;
  let context: BrowserContext;
  const pages: Page[] = [];

  beforeAll(async () => {
    if (!existsSync(cli) || !existsSync(join(root, 'dist/demo/demo.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first (`npm test` does it)');
    }
    node = await CliProcess.start(cli, ['--port', '0', '--host', '127.0.0.1'], 15_000);
    nginx = await Nginx.start({ upstreamPort: Number(new URL(node.url).port) });
    browser = await launchChromium();
    context = await browser.newContext();
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
  });
  afterAll(async () => {
    await browser?.close();
    await nginx?.stop();
    await node?.kill();
  });

  async function open(origin: string, name: string, withoutWebSocket = false): Promise<Page> {
    const page = await context.newPage();
    pages.push(page);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // A browser (or an extension, a locked-down kiosk) where WebSocket does not exist.
    if (withoutWebSocket) await page.addInitScript(() => Reflect.deleteProperty(globalThis, 'WebSocket'));
    await page.goto(`${origin}/`);
    await page.fill('#name', name);
    await page.click('#login');
    await page.locator('#status', { hasText: `logged in as ${name}` }).waitFor({ timeout: 20_000 });
    expect(errors).toEqual([]);
    return page;
  }

  /** `alice` calls `bob` (by the names they logged in with), both chat, then hang up. */
  async function callAndChat(alice: Page, bob: Page, names: [string, string], screenshot: string): Promise<void> {
    const [a, b] = names;
    await alice.fill('#callee', b);
    await alice.click('#call');
    await alice.waitForSelector('body[data-call="open"]', { timeout: 20_000 });
    await bob.waitForSelector('body[data-call="open"]', { timeout: 20_000 });
    await alice.fill('#message', `hello ${b}`);
    await alice.click('#send');
    await bob.locator('#log li', { hasText: `${a}: hello ${b}` }).waitFor({ timeout: 10_000 });
    await bob.fill('#message', `hi ${a}`);
    await bob.press('#message', 'Enter');
    await alice.locator('#log li', { hasText: `${b}: hi ${a}` }).waitFor({ timeout: 10_000 });
    mkdirSync(join(root, 'test-output'), { recursive: true });
    await alice.screenshot({ path: join(root, 'test-output', screenshot), fullPage: true });
    await alice.click('#hangup');
    await bob.locator('#log li', { hasText: `Call with ${a} ended (leave)` }).waitFor({ timeout: 10_000 });
  }

  it('two pages behind nginx (no Upgrade forwarded) log in over HTTP, call each other and chat', async () => {
    const alice = await open(nginx.origin, 'alice');
    const bob = await open(nginx.origin, 'bob');
    for (const page of [alice, bob]) {
      expect(await page.getAttribute('body', 'data-transport')).toBe('http');
      await page.locator('#log li', { hasText: 'Signalling over HTTP' }).waitFor({ timeout: 5_000 });
    }
    await callAndChat(alice, bob, ['alice', 'bob'], 'demo-http-fallback-nginx.png');
  });

  it('pages without WebSocket do the same against the CLI directly', async () => {
    // Other names: the sessions of the pages above are still held until they time out.
    const ann = await open(node.origin, 'ann', true);
    const ben = await open(node.origin, 'ben', true);
    for (const page of [ann, ben]) expect(await page.getAttribute('body', 'data-transport')).toBe('http');
    await callAndChat(ann, ben, ['ann', 'ben'], 'demo-http-fallback-no-websocket.png');
  });

  it('a page closed over HTTP says goodbye (1001) at once: its partner hears leave, as with a WebSocket', async () => {
    const cat = await open(node.origin, 'cat', true);
    const dan = await open(node.origin, 'dan', true);
    await cat.fill('#callee', 'dan');
    await cat.click('#call');
    await dan.waitForSelector('body[data-call="open"]', { timeout: 20_000 });
    const closedAt = Date.now();
    await cat.close({ runBeforeUnload: true });
    await dan.locator('#log li', { hasText: 'Call with cat ended (leave)' }).waitFor({ timeout: 10_000 });
    // Well before the session would time out (60 s) and its grace end (15 s more).
    expect(Date.now() - closedAt).toBeLessThan(10_000);
  });

  it('a page that can use WebSocket still does', async () => {
    const carol = await open(node.origin, 'carol');
    expect(await carol.getAttribute('body', 'data-transport')).toBe('websocket');
  });
});
