import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackplane } from '../../src/redis.js';
import { RedisServer } from '../helpers/redis-server.js';
import { ProviderProcess } from './provider.js';
import { RawClient, startYWebrtcServer, type YWebrtcServer } from './y-webrtc-server.js';

let redis: RedisServer;
let round = 0;
const servers: YWebrtcServer[] = [];
const providers: ProviderProcess[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis?.dispose();
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((provider) => provider.stop()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
  round++;
});

function provider(url: string, room: string, password?: string): ProviderProcess {
  const started = ProviderProcess.start(url, room, password);
  providers.push(started);
  return started;
}

/**
 * Starts `a`, and `b` only once the hub has `a` in the room: then only `a` hears an announce (b's) and
 * calls. Two providers that announce at once both call, and y-webrtc's glare handling then loses the
 * call now and then (peers 1, 0, 1 and no sync), with its own bin/server.js as with the hub: the
 * client's race, not the signalling's.
 */
async function pair(
  first: YWebrtcServer,
  second: YWebrtcServer,
  room: string,
  password?: string,
): Promise<[ProviderProcess, ProviderProcess]> {
  const a = provider(first.url, room, password);
  const roomName = first.ywebrtc.dialect.roomOf(room);
  await expect.poll(() => first.hub.members(roomName), { timeout: 20000 }).toHaveLength(1);
  return [a, provider(second.url, room, password)];
}

/** Two providers edit one Y.Doc: each one's insert reaches the other over WebRTC, signalled through the hub. */
async function syncs(a: ProviderProcess, b: ProviderProcess): Promise<void> {
  await a.until((p) => p.peers === 1, 'a has a WebRTC peer');
  await b.until((p) => p.peers === 1, 'b has a WebRTC peer');
  a.insert('hello ');
  await b.until((p) => p.text === 'hello ', "b sees a's text");
  b.insert('world');
  await a.until((p) => p.text === 'hello world', "a sees b's text");
  expect(b.text).toBe('hello world');
}

describe('the real y-webrtc WebrtcProvider (Node, @roamhq/wrtc) through the hub', () => {
  it('two providers on one room name sync a Y.Doc through one node', async () => {
    const node = await startYWebrtcServer();
    servers.push(node);
    await syncs(...(await pair(node, node, `doc-${round}`)));
    expect(await node.hub.rooms()).toEqual([node.ywebrtc.dialect.roomOf(`doc-${round}`)]);
  }, 60000);

  it('with a password: the encrypted announce and signals cross the hub intact (each provider decrypts the other)', async () => {
    const node = await startYWebrtcServer();
    servers.push(node);
    const [a, b] = await pair(node, node, `secret-${round}`, 'pw');
    // A provider counts a WebRTC peer only once it decrypted the other's announce or signal with the
    // shared key: what the hub must carry. Whether the call then connects is the client's: y-webrtc
    // decrypts asynchronously and may apply signals out of order, and its own bin/server.js loses about
    // one encrypted sync in six the same way (measured here), so the sync itself is not asserted.
    await a.until((p) => p.peers === 1, 'a decrypted b');
    await b.until((p) => p.peers === 1, 'b decrypted a');
  }, 60000);

  it('two providers on two hub nodes on one Redis sync a Y.Doc', async () => {
    const keyPrefix = `ywebrtc${round}:`;
    const node = () =>
      startYWebrtcServer({
        backplane: new RedisBackplane({ url: redis.url, keyPrefix, leaseTtl: 1500, heartbeatInterval: 250 }),
      });
    const one = await node();
    servers.push(one);
    const two = await node();
    servers.push(two);
    await syncs(...(await pair(one, two, `doc-${round}`)));
    expect(await one.hub.members(one.ywebrtc.dialect.roomOf(`doc-${round}`))).toHaveLength(2);
  }, 60000);
});

describe('y-webrtc raw frames across two hub nodes on Redis', () => {
  it('publishes reach subscribers on both nodes with the cluster-wide count, the sender included; a publish waits for its subscribe', async () => {
    const keyPrefix = `ywebrtc-raw${round}:`;
    const node = () =>
      startYWebrtcServer({
        backplane: new RedisBackplane({ url: redis.url, keyPrefix, leaseTtl: 1500, heartbeatInterval: 250 }),
      });
    const one = await node();
    servers.push(one);
    const two = await node();
    servers.push(two);
    const a = await RawClient.connect(one.url);
    const b = await RawClient.connect(two.url);
    try {
      const room = one.ywebrtc.dialect.roomOf('t');
      b.send({ type: 'subscribe', topics: ['t'] });
      await expect.poll(() => one.hub.members(room), { timeout: 5000 }).toHaveLength(1);
      // Back to back: the publish is held until the cluster has answered the subscribe.
      a.send({ type: 'subscribe', topics: ['t'] });
      a.send({ type: 'publish', topic: 't', data: { type: 'announce', from: 'a' } });
      const announce = '{"type":"publish","topic":"t","data":{"type":"announce","from":"a"},"clients":2}';
      expect(await a.next()).toEqual(JSON.parse(announce));
      expect(await b.next()).toEqual(JSON.parse(announce));
      expect(a.texts).toEqual([announce]);
      expect(b.texts).toEqual([announce]);
      b.send({ type: 'publish', topic: 't', data: 'x' });
      expect(await a.next()).toEqual({ type: 'publish', topic: 't', data: 'x', clients: 2 });
      expect(await b.next()).toEqual({ type: 'publish', topic: 't', data: 'x', clients: 2 });
      // b leaves: a hears `parted` from the cluster, and its count follows.
      b.socket.close();
      await b.closed;
      await expect
        .poll(
          async () => {
            a.send({ type: 'publish', topic: 't', data: 'y' });
            return (await a.next()).clients;
          },
          { timeout: 5000 },
        )
        .toBe(1);
    } finally {
      a.socket.terminate();
      b.socket.terminate();
    }
  });
});
