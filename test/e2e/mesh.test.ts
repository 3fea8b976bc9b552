import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, buildCli } from '../helpers/cli-process.js';
import { launchChromium } from '../helpers/chromium.js';
import { RedisServer } from '../helpers/redis-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Four pages of the demo (one headless Chromium) join one room and form a
 * full mesh: every pair's data channel opens, a chat message from each page
 * reaches the three others; on one CLI node with video from Chromium's fake
 * camera, then split over two CLI nodes on one Redis.
 */
describe('a four-page mesh call over the demo', () => {
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  let redis: RedisServer | undefined;
  let browser: Browser | undefined;
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
    redis = await RedisServer.start();
    browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all(nodes.map((node) => node.kill()));
    await redis?.dispose();
    built?.remove();
  });

  async function startNode(args: string[] = []): Promise<string> {
    const node = await CliProcess.start(built!.script, ['--port', '0', '--host', '127.0.0.1', ...args]);
    nodes.push(node);
    return node.url.replace(/^ws:/, 'http:').replace(/\/$/, '');
  }

  async function open(context: BrowserContext, origin: string, name: string, errors: string[]): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(`${name}: ${error.message}`));
    await page.goto(`${origin}/`);
    await page.fill('#name', name);
    await page.click('#login');
    await page.locator('#status', { hasText: `logged in as ${name}` }).waitFor({ timeout: 10_000 });
    return page;
  }

  /** Every page joins `room` in turn (each newcomer calls those already in), then the mesh is checked. */
  async function mesh(origins: readonly string[], room: string, video: boolean): Promise<void> {
    const context = await browser!.newContext();
    const errors: string[] = [];
    try {
      const names = ['ann', 'ben', 'cat', 'dan'].map((name) => `${name}-${room}`);
      const pages = await Promise.all(names.map((name, i) => open(context, origins[i % origins.length]!, name, errors)));
      if (video) {
        for (const page of pages) {
          await page.click('#camera');
          await page.waitForFunction(() => (document.getElementById('local') as HTMLVideoElement).srcObject !== null);
        }
      }
      for (const page of pages) {
        await page.fill('#room', room);
        await page.click('#join');
        await page.locator('#log li', { hasText: `In ${room}` }).waitFor({ timeout: 10_000 });
      }
      // Every pair's data channel open: each page lists the three others.
      for (const [i, page] of pages.entries()) {
        const others = names
          .filter((_, j) => j !== i)
          .sort()
          .join(',');
        await page.waitForSelector(`body[data-open="${others}"]`, { timeout: 30_000 });
      }
      // A message from each reaches all the others.
      for (const [i, page] of pages.entries()) {
        await page.fill('#message', `hello from ${names[i]}`);
        await page.press('#message', 'Enter');
      }
      for (const [i, page] of pages.entries()) {
        for (const [j, name] of names.entries()) {
          if (i === j) continue;
          await page.locator('#log li', { hasText: `${name}: hello from ${name}` }).waitFor({ timeout: 10_000 });
        }
      }
      if (video) {
        for (const page of pages) {
          await page.waitForFunction(
            () => {
              const videos = Array.from(document.querySelectorAll<HTMLVideoElement>('#peers video'));
              return videos.length === 3 && videos.every((element) => element.videoWidth > 0);
            },
            undefined,
            { timeout: 30_000 },
          );
        }
      }
      // One leaves: the others hang up on it (parted) and keep their calls with each other.
      await pages[0]!.click('#part');
      for (const [i, page] of pages.entries()) {
        if (i === 0) continue;
        const others = names
          .filter((_, j) => j !== 0 && j !== i)
          .sort()
          .join(',');
        await page.waitForSelector(`body[data-open="${others}"]`, { timeout: 10_000 });
        await page.locator('#log li', { hasText: `${names[0]} left ${room}` }).waitFor({ timeout: 10_000 });
      }
      expect(await pages[0]!.getAttribute('body', 'data-open')).toBe('');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }

  it('on one CLI node, with video: every pair connected, every chat message delivered', async () => {
    const origin = await startNode();
    await mesh([origin], 'standup', true);
  }, 120_000);

  it('split over two CLI nodes on one Redis', async () => {
    const first = await startNode(['--redis', redis!.url]);
    const second = await startNode(['--redis', redis!.url]);
    await mesh([first, second], 'cluster', false);
  }, 120_000);
});
