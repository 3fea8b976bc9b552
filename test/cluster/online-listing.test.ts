import { afterEach, describe, expect, it } from 'vitest';
import { type Backplane, type BackplaneHost, MemoryCluster, type NamePage } from '../../src/index.js';
import { clusterSuite, loggedIn } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import type { TestClient } from '../helpers/test-client.js';

/** A host that holds nothing (the backplane's listing is the unit under test). */
const idle: BackplaneHost = {
  deliver: () => false,
  localClaims: () => [],
  claimLost: () => {},
  nodeDown: () => {},
  remoteNodes: () => [],
  error: () => {},
  stateChanged: () => {},
  handOverRequested: () => undefined,
  handOverSettled: () => {},
};

/** Every page of `backplane.namePage` from the start, `limit` at a time. */
async function allPages(backplane: Backplane, limit: number): Promise<NamePage[]> {
  const pages: NamePage[] = [];
  let after = '';
  for (;;) {
    const page = await backplane.namePage!(after, limit);
    pages.push(page);
    if (!page.more) return pages;
    after = page.names[page.names.length - 1]!;
  }
}

/** The `peers` listing, page after page, as a client reads it. */
async function listing(client: TestClient): Promise<unknown[]> {
  const pages: unknown[] = [];
  let cursor: unknown = undefined;
  do {
    const page = await client.request(cursor === undefined ? { type: 'peers' } : { type: 'peers', cursor });
    pages.push(page);
    cursor = page.next;
  } while (typeof cursor === 'string');
  return pages;
}

/**
 * Opt-in discovery (`peers`) across nodes: the names of every live node, in
 * one order, in bounded pages, whichever node is asked.
 */
clusterSuite('who is online, cluster-wide', 'ol', (cluster) => {
  afterEach(() => {
    for (const client of cluster.clients.splice(0)) client.close();
  });

  it('lists the names of every node in code-unit order, a page at a time, from either node', async () => {
    const [one, two] = [await cluster.node({}, { peerListPageSize: 2 }), await cluster.node({}, { peerListPageSize: 2 })];
    const a1 = await loggedIn(one.url, 'a1', cluster.clients);
    await loggedIn(one.url, 'c1', cluster.clients);
    const e2 = await loggedIn(two.url, 'e2', cluster.clients);
    await loggedIn(two.url, 'b2', cluster.clients);
    await loggedIn(two.url, 'd2', cluster.clients);
    const expected = [
      { type: 'peers', names: ['a1', 'b2'], next: 'b2' },
      { type: 'peers', names: ['c1', 'd2'], next: 'd2' },
      { type: 'peers', names: ['e2'], next: null },
    ];
    expect(await listing(a1)).toEqual(expected);
    expect(await listing(e2)).toEqual(expected);
  });

  it("drops a node's names from the listing once it is gone", async () => {
    const [one, two] = [await cluster.node({}, { peerListPageSize: 10 }), await cluster.node({}, { peerListPageSize: 10 })];
    const a = await loggedIn(one.url, 'a', cluster.clients);
    await loggedIn(two.url, 'b', cluster.clients);
    expect(await a.request({ type: 'peers' })).toEqual({ type: 'peers', names: ['a', 'b'], next: null });
    await two.close();
    expect(await a.request({ type: 'peers' })).toEqual({ type: 'peers', names: ['a'], next: null });
  });

  it("pages the other nodes' names through the backplane, bounded, however many there are", async () => {
    const lister = await cluster.bare(idle);
    const holder = await cluster.bare(idle);
    // More names than one SSCAN step reads, in no particular order.
    const names = Array.from({ length: 2500 }, (_, index) => `n${String((index * 7919) % 2500).padStart(4, '0')}`);
    for (let at = 0; at < names.length; at += 500) {
      const claimed = await Promise.all(names.slice(at, at + 500).map((name) => holder.claim(name, `c-${name}`)));
      expect(new Set(claimed)).toEqual(new Set(['claimed']));
    }
    await lister.claim('own', 'c-own');
    const pages = await allPages(lister, 1000);
    expect(pages.map((page) => [page.names.length, page.more])).toEqual([
      [1000, true],
      [1000, true],
      [500, false],
    ]);
    // Every name of the other node once, in order; none of the asking node's own.
    expect(pages.flatMap((page) => page.names)).toEqual([...names].sort());
    expect(await lister.namePage!('n2498', 5)).toEqual({ names: ['n2499'], more: false });
    expect(await holder.namePage!('', 1)).toEqual({ names: ['own'], more: false });
    await expect(lister.namePage!('', 0)).rejects.toThrow(/limit/);
    await expect(lister.namePage!('', 10_001)).rejects.toThrow(/limit/);
  });
});

describe('who is online when the cluster cannot be read', () => {
  let nodes: HubServer[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.map((node) => node.close()));
    nodes = [];
  });

  it('answers backplane-unavailable, and lists again once it can', async () => {
    const cluster = new MemoryCluster();
    nodes = [
      await startHubServer({ peerListPageSize: 5, backplane: cluster.backplane('one') }),
      await startHubServer({ peerListPageSize: 5, backplane: cluster.backplane('two') }),
    ];
    await Promise.all(nodes.map((node) => node.hub.ready));
    const a = await loggedIn(nodes[0]!.url, 'a', clients);
    await loggedIn(nodes[1]!.url, 'b', clients);
    cluster.crash('one');
    expect(await a.request({ type: 'peers' })).toEqual({
      type: 'error',
      code: 'backplane-unavailable',
      message: 'Cannot list who is online: the cluster backplane is unreachable',
      request: 'peers',
    });
    cluster.restore('one');
    expect(await a.request({ type: 'peers' })).toEqual({ type: 'peers', names: ['a', 'b'], next: null });
  });

  it('reads one listing per peer at a time: another peers meanwhile is rate-limited', async () => {
    const cluster = new MemoryCluster();
    nodes = [
      await startHubServer({ peerListPageSize: 5, backplane: cluster.backplane('one') }),
      await startHubServer({ peerListPageSize: 5, backplane: cluster.backplane('two') }),
    ];
    await Promise.all(nodes.map((node) => node.hub.ready));
    const a = await loggedIn(nodes[0]!.url, 'a', clients);
    await loggedIn(nodes[1]!.url, 'b', clients);
    // The real backplane's page, held back until the second request was answered.
    const backplane = nodes[0]!.hub.options.backplane!;
    const read = backplane.namePage!.bind(backplane);
    let asked: () => void;
    const reading = new Promise<void>((resolve) => (asked = resolve));
    let release: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    backplane.namePage = async (after, limit) => {
      asked();
      await released;
      return read(after, limit);
    };
    a.send({ type: 'peers' });
    await reading;
    expect(await a.request({ type: 'peers' })).toEqual({
      type: 'error',
      code: 'rate-limited',
      message: 'A peers listing is being read: wait for its page',
      request: 'peers',
    });
    release!();
    expect(await a.next()).toEqual({ type: 'peers', names: ['a', 'b'], next: null });
  });
});
