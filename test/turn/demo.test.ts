import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoHandler } from '../../src/cli/demo.js';
import { SignallingHub } from '../../src/index.js';
import { type Attachment, attach } from '../../src/ws.js';
import { Coturn } from '../helpers/coturn.js';
import { launchChromium } from '../helpers/chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the demo page in Chromium with TURN servers from the hub (a real coturn)', () => {
  const secret = `coturn-${randomBytes(12).toString('hex')}`;
  let coturn: Coturn;
  let hub: SignallingHub;
  let server: Server;
  let attachment: Attachment;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  const pages: Page[] = [];

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/demo/demo.js')) || !existsSync(join(root, 'dist/demo/index.html'))) {
      throw new Error('dist/demo/ is missing: run `npm run build` first (`npm test` does it)');
    }
    coturn = await Coturn.start({ secret });
    // What the CLI serves, in-process: the demo page and the hub on one server, the hub issuing coturn credentials.
    hub = new SignallingHub({ turn: { secret, urls: [coturn.url] } });
    server = createServer(demoHandler('/'));
    attachment = attach(hub, server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    context = await browser.newContext();
  });

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await attachment?.close();
    await hub?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    await coturn?.stop();
  });

  async function open(name: string): Promise<Page> {
    const page = await context.newPage();
    pages.push(page);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${origin}/`);
    await page.fill('#name', name);
    await page.click('#login');
    await page.locator('#status', { hasText: `logged in as ${name}` }).waitFor({ timeout: 10000 });
    // The page names the hub's TURN server, never a credential (nor, of course, the secret).
    await page.locator('#ice', { hasText: `ICE servers from the hub: ${coturn.url}` }).waitFor({ timeout: 5000 });
    const html = await page.content();
    expect(html).not.toContain(secret);
    expect(html).not.toMatch(/\d{10}:(alice|bob)/);
    expect(errors).toEqual([]);
    return page;
  }

  /** alice calls bob, both chat, and each page's path status is read. */
  async function callAndChat(alice: Page, bob: Page, screenshot: string): Promise<string[]> {
    await alice.fill('#callee', 'bob');
    await alice.click('#call');
    await alice.waitForSelector('body[data-call="open"]', { timeout: 20000 });
    await bob.waitForSelector('body[data-call="open"]', { timeout: 20000 });
    // The switch is fixed while a call is on.
    expect(await alice.isDisabled('#relay-only')).toBe(true);
    await alice.fill('#message', 'hello bob');
    await alice.click('#send');
    await bob.locator('#log li', { hasText: 'alice: hello bob' }).waitFor({ timeout: 10000 });
    await bob.fill('#message', 'hi alice');
    await bob.press('#message', 'Enter');
    await alice.locator('#log li', { hasText: 'bob: hi alice' }).waitFor({ timeout: 10000 });
    const paths: string[] = [];
    for (const page of [alice, bob]) {
      await page.waitForSelector('body[data-path]', { timeout: 10000 });
      paths.push(await page.locator('#path').innerText());
    }
    mkdirSync(join(root, 'test-output'), { recursive: true });
    await alice.screenshot({ path: join(root, 'test-output', screenshot), fullPage: true });
    await alice.click('#hangup');
    await bob.locator('#log li', { hasText: 'Call with alice ended (leave)' }).waitFor({ timeout: 10000 });
    // The path is the call's: it goes with it.
    expect(await bob.getAttribute('body', 'data-path')).toBeNull();
    expect(await alice.isDisabled('#relay-only')).toBe(false);
    return paths;
  }

  it('relay only: two pages call and chat through coturn, and show "relayed"', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    for (const page of [alice, bob]) {
      expect(await page.isDisabled('#relay-only')).toBe(false);
      await page.check('#relay-only');
    }
    expect(await callAndChat(alice, bob, 'demo-relayed.png')).toEqual(['path: relayed (TURN)', 'path: relayed (TURN)']);
  });

  it('without relay only the same pages connect directly, and show "direct"', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    expect(await alice.isChecked('#relay-only')).toBe(false);
    expect(await callAndChat(alice, bob, 'demo-direct.png')).toEqual(['path: direct', 'path: direct']);
  });
});
