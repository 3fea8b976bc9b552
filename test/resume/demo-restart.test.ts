import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, buildCli } from '../helpers/cli-process.js';
import { launchChromium } from '../helpers/chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the demo page in Chromium keeps its call while the CLI it talks to restarts', () => {
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  const nodes: CliProcess[] = [];

  beforeAll(async () => {
    built = await buildCli();
    // The demo, built from the current sources next to the private CLI, which serves it from ./demo/.
    await build({
      entry: { demo: join(root, 'src/demo/main.ts') },
      outDir: join(dirname(built.script), 'demo'),
      publicDir: join(root, 'src/demo/public'),
      format: ['esm'],
      platform: 'browser',
      target: 'es2020',
      noExternal: ['eventemitter3'],
      minify: true,
      silent: true,
      config: false,
    });
    browser = await launchChromium();
    context = await browser.newContext();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(nodes.map((node) => node.kill()));
    built?.remove();
  });

  async function startNode(port: number): Promise<CliProcess> {
    const node = await CliProcess.start(built!.script, ['--port', String(port), '--host', '127.0.0.1', '--drain-timeout', '500']);
    nodes.push(node);
    return node;
  }

  async function open(origin: string, name: string, errors: string[]): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${origin}/`);
    await page.fill('#name', name);
    await page.click('#login');
    await page.locator('#status', { hasText: `logged in as ${name}` }).waitFor({ timeout: 10_000 });
    return page;
  }

  async function chat(from: Page, to: Page, fromName: string, text: string): Promise<void> {
    await from.fill('#message', text);
    await from.press('#message', 'Enter');
    await to.locator('#log li', { hasText: `${fromName}: ${text}` }).waitFor({ timeout: 10_000 });
  }

  it('shows "reconnecting…", then logs in again, and the call (its data channel) goes on: chat works both ways', async () => {
    const first = await startNode(0);
    const port = Number(new URL(first.url).port);
    const origin = first.origin;
    const errors: string[] = [];
    const alice = await open(origin, 'alice', errors);
    const bob = await open(origin, 'bob', errors);
    await alice.fill('#callee', 'bob');
    await alice.click('#call');
    await alice.waitForSelector('body[data-call="open"]', { timeout: 20_000 });
    await bob.waitForSelector('body[data-call="open"]', { timeout: 20_000 });
    await chat(alice, bob, 'alice', 'before the restart');

    // SIGTERM: the server drains (4503), exits, and a new one starts on the same port.
    first.child.kill('SIGTERM');
    for (const page of [alice, bob]) {
      await page.locator('#status', { hasText: 'reconnecting…' }).waitFor({ timeout: 10_000 });
      expect(await page.getAttribute('body', 'data-signalling')).toBe('reconnecting');
    }
    expect((await first.exited).code).toBe(0);
    // While no server runs, the call still carries chat peer to peer.
    await chat(bob, alice, 'bob', 'while the server is down');
    const second = await startNode(port);
    for (const page of [alice, bob]) {
      await page.waitForSelector('body[data-signalling="online"]', { timeout: 30_000 });
      expect(await page.locator('#status').innerText()).toMatch(/^logged in (again )?as (alice|bob)$/);
    }
    expect(second.output).toContain('peer joined');

    for (const page of [alice, bob]) expect(await page.getAttribute('body', 'data-call')).toBe('open');
    await chat(alice, bob, 'alice', 'after the restart');
    await chat(bob, alice, 'bob', 'still here');
    const aliceLog = await alice.locator('#log li').allTextContents();
    expect(aliceLog.some((line) => line.includes('ended'))).toBe(false);
    expect(aliceLog).toContainEqual(expect.stringMatching(/^Connection to the server lost \(4503\): reconnecting…/));
    expect(aliceLog).toContainEqual(expect.stringMatching(/^Back online.*: the call with bob goes on$/));
    mkdirSync(join(root, 'test-output'), { recursive: true });
    await alice.screenshot({ path: join(root, 'test-output', 'demo-after-restart.png'), fullPage: true });
    expect(errors).toEqual([]);

    // A hang-up still ends the call on both pages, through the new server.
    await alice.click('#hangup');
    await bob.locator('#log li', { hasText: 'Call with alice ended (leave)' }).waitFor({ timeout: 10_000 });
  }, 90_000);
});
