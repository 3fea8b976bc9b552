import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { connectTo, makePeer, newPage, pageLog, type PeerTarget, startPageServer, waitForLog } from './browser-page.js';
import { type PeerjsServer, startPeerjsServer } from './peerjs-server.js';

describe('the real peerjs client (headless Chromium) against the PeerJS dialect', () => {
  let browser: Browser;
  let pages: { url: string; close(): Promise<void> };
  let server: PeerjsServer;
  let target: PeerTarget;
  const opened: Page[] = [];
  let proxy: TcpProxy | undefined;

  beforeAll(async () => {
    browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
    pages = await startPageServer();
    server = await startPeerjsServer(undefined, { path: '/myapp', key: 'k1', expire_timeout: 500, cleanup_out_msgs: 100 });
    target = { host: '127.0.0.1', port: server.port, path: '/myapp', key: 'k1' };
  });

  afterEach(async () => {
    for (const page of opened.splice(0)) await page.close();
    await proxy?.close();
    proxy = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await pages?.close();
  });

  async function page(): Promise<Page> {
    const created = await newPage(browser, pages.url);
    opened.push(created);
    return created;
  }

  it('opens a DataConnection between two pages that carries messages both ways', async () => {
    const [a, b] = [await page(), await page()];
    expect(await makePeer(a, 'alice', target)).toBe('open alice');
    expect(await makePeer(b, 'bob', target)).toBe('open bob');
    expect(await connectTo(a, 'bob', 'hello')).toBe('echo hello');
    expect(await pageLog(b)).toContain('data from alice: hello');
  });

  it("carries a MediaConnection with Chromium's fake camera both ways", async () => {
    const [a, b] = [await page(), await page()];
    expect(await makePeer(a, 'gina', target)).toBe('open gina');
    expect(await makePeer(b, 'hank', target)).toBe('open hank');
    await b.evaluate(() => (window as unknown as { answerCalls(): void }).answerCalls());
    const received = await a.evaluate(() =>
      (window as unknown as { callWithCamera(id: string): Promise<string> }).callWithCamera('hank'),
    );
    expect(received).toBe('1 video');
    await waitForLog(b, 'stream from gina: 1 video');
  });

  it('gets an id from the server when none is given', async () => {
    const a = await page();
    const result = await makePeer(a, undefined, target);
    expect(result).toMatch(/^open [0-9a-f-]{36}$/);
  });

  it('answers a duplicate id with unavailable-id (ID-TAKEN)', async () => {
    const [a, b] = [await page(), await page()];
    expect(await makePeer(a, 'carol', target)).toBe('open carol');
    expect(await makePeer(b, 'carol', target)).toBe('error unavailable-id');
  });

  it('answers a connection to an id that never comes with peer-unavailable (EXPIRE)', async () => {
    const a = await page();
    expect(await makePeer(a, 'dave', target)).toBe('open dave');
    await a.evaluate(() => {
      (window as unknown as { peer: { connect(id: string): unknown } }).peer.connect('nobody');
    });
    await waitForLog(a, 'error peer-unavailable');
  });

  it('keeps the id through peer.reconnect() after the socket was cut, and gets open again', async () => {
    proxy = await startTcpProxy(server.port);
    const [a, b] = [await page(), await page()];
    expect(await makePeer(a, 'erin', { ...target, port: proxy.port })).toBe('open erin');
    expect(await makePeer(b, 'frank', target)).toBe('open frank');
    // The browser's side is cut; the server still holds the old socket (a blip it has not noticed).
    proxy.cut();
    await waitForLog(a, 'disconnected');
    expect(server.hub.getPeer('peerjs:k1:erin')).toBeDefined();
    await a.evaluate(() => (window as unknown as { peer: { reconnect(): void } }).peer.reconnect());
    // The first open is in the log already: wait for the second one.
    await a.waitForFunction(
      () => (window as unknown as { log: string[] }).log.filter((entry) => entry === 'open erin').length >= 2,
    );
    expect((await pageLog(a)).filter((entry) => entry === 'open erin')).toHaveLength(2);
    expect(await connectTo(b, 'erin', 'still you?')).toBe('echo still you?');
  });
});
