import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

const bundle = readFileSync(fileURLToPath(new URL('../../node_modules/peerjs/dist/peerjs.min.js', import.meta.url)));

/**
 * The page: the real `peerjs` browser bundle, and a few functions the tests
 * call. Every event the Peer and its DataConnections emit lands in `window.log`.
 */
const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>PeerJS</title>
<script src="/peerjs.min.js"></script>
<script>
window.log = [];
window.connections = [];
window.makePeer = (id, options) => new Promise((resolve) => {
  const peer = new Peer(id, { ...options, config: { iceServers: [] }, debug: 0 });
  window.peer = peer;
  let settled = false;
  peer.on('open', (openId) => { window.log.push('open ' + openId); if (!settled) { settled = true; resolve('open ' + openId); } });
  peer.on('error', (error) => { window.log.push('error ' + error.type); if (!settled) { settled = true; resolve('error ' + error.type); } });
  peer.on('disconnected', () => window.log.push('disconnected'));
  peer.on('connection', (connection) => {
    window.connections.push(connection);
    connection.on('data', (data) => {
      window.log.push('data from ' + connection.peer + ': ' + data);
      connection.send('echo ' + data);
    });
  });
});
window.answerCalls = () => window.peer.on('call', async (call) => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true });
  call.on('stream', (remote) => window.log.push('stream from ' + call.peer + ': ' + remote.getVideoTracks().length + ' video'));
  call.answer(stream);
});
window.callWithCamera = (id) => new Promise(async (resolve, reject) => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true });
  const call = window.peer.call(id, stream);
  call.on('stream', (remote) => resolve(remote.getVideoTracks().length + ' video'));
  call.on('error', (error) => reject(new Error(String(error))));
});
window.connectTo = (id, message) => new Promise((resolve, reject) => {
  const connection = window.peer.connect(id, { reliable: true });
  window.connections.push(connection);
  connection.on('open', () => connection.send(message));
  connection.on('data', (data) => resolve(String(data)));
  connection.on('error', (error) => reject(new Error(String(error))));
});
window.waitFor = (entry) => new Promise((resolve) => {
  const check = () => (window.log.includes(entry) ? resolve(true) : setTimeout(check, 20));
  check();
});
</script></head><body></body></html>`;

/** Serves the page on its own origin (the PeerJS server is another one, as in real deployments). */
export async function startPageServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.url === '/peerjs.min.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript' });
      response.end(bundle);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Options of `new Peer()` for a hub on `port`. */
export interface PeerTarget {
  host: string;
  port: number;
  path: string;
  key: string;
}

/** A fresh page with the bundle loaded. */
export async function newPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => typeof (window as unknown as { Peer?: unknown }).Peer === 'function');
  return page;
}

/** `new Peer(id, target)` in `page`: resolves `open <id>` or `error <type>`. */
export function makePeer(page: Page, id: string | undefined, target: PeerTarget): Promise<string> {
  return page.evaluate(
    ([peerId, options]) =>
      (window as unknown as { makePeer(id: string | undefined, options: object): Promise<string> }).makePeer(
        peerId ?? undefined,
        options,
      ),
    [id ?? null, target] as const,
  );
}

/** Opens a DataConnection from `page` to `id`, sends `message`, resolves with the echo. */
export function connectTo(page: Page, id: string, message: string): Promise<string> {
  return page.evaluate(
    ([peerId, text]) => (window as unknown as { connectTo(id: string, m: string): Promise<string> }).connectTo(peerId, text),
    [id, message] as const,
  );
}

/** Resolves once `entry` is in the page's log. */
export function waitForLog(page: Page, entry: string): Promise<unknown> {
  return page.evaluate((text) => (window as unknown as { waitFor(e: string): Promise<boolean> }).waitFor(text), entry);
}

export function pageLog(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { log: string[] }).log);
}
