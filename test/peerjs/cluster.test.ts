import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackplane } from '../../src/redis.js';
import { launchChromium } from '../helpers/chromium.js';
import { RedisServer } from '../helpers/redis-server.js';
import { connectTo, makePeer, newPage, pageLog, startPageServer } from './browser-page.js';
import { PeerjsWsClient, type PeerjsServer, startPeerjsServer } from './peerjs-server.js';

let redis: RedisServer;
let round = 0;
const nodes: PeerjsServer[] = [];
const clients: PeerjsWsClient[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis?.dispose();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
  round++;
});

/** Two hub nodes on one real Redis, each serving PeerJS. */
async function twoNodes(options: Parameters<typeof startPeerjsServer>[1] = {}): Promise<[PeerjsServer, PeerjsServer]> {
  const keyPrefix = `peerjs${round}:`;
  const node = () =>
    startPeerjsServer(
      { backplane: new RedisBackplane({ url: redis.url, keyPrefix, leaseTtl: 1500, heartbeatInterval: 250 }) },
      options,
    );
  const started: [PeerjsServer, PeerjsServer] = [await node(), await node()];
  nodes.push(...started);
  return started;
}

async function open(node: PeerjsServer, id: string, token?: string): Promise<PeerjsWsClient> {
  const client = await PeerjsWsClient.open(node.port, id, token);
  clients.push(client);
  return client;
}

async function connect(node: PeerjsServer, query: string): Promise<PeerjsWsClient> {
  const client = await PeerjsWsClient.connect(node.port, query);
  clients.push(client);
  return client;
}

describe('PeerJS across two hub nodes on Redis (raw frames)', () => {
  it('relays between ids on different nodes, src set by the server', async () => {
    const [one, two] = await twoNodes();
    const a = await open(one, 'a');
    const b = await open(two, 'b');
    a.send({ type: 'OFFER', src: 'x', dst: 'b', payload: { sdp: 'o', type: 'data', connectionId: 'dc' } });
    expect(await b.next()).toEqual({
      type: 'OFFER',
      src: 'a',
      dst: 'b',
      payload: { sdp: 'o', type: 'data', connectionId: 'dc' },
    });
    b.send({ type: 'ANSWER', dst: 'a', payload: { sdp: 'r' } });
    expect(await a.next()).toEqual({ type: 'ANSWER', src: 'b', dst: 'a', payload: { sdp: 'r' } });
  });

  it('refuses an id held on the other node with ID-TAKEN', async () => {
    const [one, two] = await twoNodes();
    await open(one, 'a', 'first');
    const thief = await connect(two, 'key=peerjs&id=a&token=other');
    await thief.closed;
    expect(thief.texts).toEqual(['{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}']);
  });

  it('lets the same id and token take over from the other node, with OPEN', async () => {
    const [one, two] = await twoNodes();
    const old = await open(one, 'a', 'same');
    const b = await open(two, 'b');
    const fresh = await connect(two, 'key=peerjs&id=a&token=same');
    expect(await fresh.next()).toEqual({ type: 'OPEN' });
    expect((await old.closed).code).toBe(4409);
    b.send({ type: 'OFFER', dst: 'a', payload: 1 });
    expect(await fresh.next()).toEqual({ type: 'OFFER', src: 'b', dst: 'a', payload: 1 });
  });

  it('lets an id drained off one node reconnect on the other at once, with OPEN', async () => {
    const [one, two] = await twoNodes();
    const a = await open(one, 'a', 'same');
    const b = await open(two, 'b');
    const drained = one.hub.drain({ timeout: 10_000 });
    expect((await a.closed).code).toBe(4503);
    const again = await connect(two, 'key=peerjs&id=a&token=same');
    expect(await again.next()).toEqual({ type: 'OPEN' });
    b.send({ type: 'OFFER', dst: 'a', payload: 1 });
    expect(await again.next()).toEqual({ type: 'OFFER', src: 'b', dst: 'a', payload: 1 });
    await drained;
  });

  it('delivers messages queued on one node to an id that connects on the other', async () => {
    const [one, two] = await twoNodes({ cleanup_out_msgs: 100 });
    const a = await open(one, 'a');
    for (let i = 0; i < 3; i++) a.send({ type: 'CANDIDATE', dst: 'late', payload: { n: i } });
    const late = await connect(two, 'key=peerjs&id=late&token=t');
    expect(await late.next()).toEqual({ type: 'OPEN' });
    for (let i = 0; i < 3; i++)
      expect(await late.next()).toEqual({ type: 'CANDIDATE', src: 'a', dst: 'late', payload: { n: i } });
  });

  it('sends one EXPIRE for an id that comes on no node', async () => {
    const [one] = await twoNodes({ expire_timeout: 300, cleanup_out_msgs: 50 });
    const a = await open(one, 'a');
    a.send({ type: 'OFFER', dst: 'ghost', payload: 1 });
    a.send({ type: 'CANDIDATE', dst: 'ghost', payload: 2 });
    expect(await a.next()).toEqual({ type: 'EXPIRE', src: 'ghost', dst: 'a' });
    a.send({ type: 'OFFER', dst: 'ghost', payload: 3 });
    expect(await a.next()).toEqual({ type: 'EXPIRE', src: 'ghost', dst: 'a' });
  });
});

describe('the real peerjs client on two hub nodes on Redis (headless Chromium)', () => {
  let browser: Browser;
  let pages: { url: string; close(): Promise<void> };
  const opened: Page[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    pages = await startPageServer();
  });

  afterAll(async () => {
    for (const page of opened) await page.close();
    await browser?.close();
    await pages?.close();
  });

  it('opens a DataConnection between pages on different nodes that carries messages both ways', async () => {
    const [one, two] = await twoNodes();
    const [a, b] = [await newPage(browser, pages.url), await newPage(browser, pages.url)];
    opened.push(a, b);
    const target = { host: '127.0.0.1', path: '/', key: 'peerjs' };
    expect(await makePeer(a, 'alice', { ...target, port: one.port })).toBe('open alice');
    expect(await makePeer(b, 'bob', { ...target, port: two.port })).toBe('open bob');
    expect(await connectTo(a, 'bob', 'across nodes')).toBe('echo across nodes');
    expect(await pageLog(b)).toContain('data from alice: across nodes');
  });
});
