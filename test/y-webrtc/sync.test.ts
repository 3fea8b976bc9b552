import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackplane } from '../../src/redis.js';
import { RedisServer } from '../helpers/redis-server.js';
import { ProviderProcess } from './provider.js';
import { startYWebrtcServer, type YWebrtcServer } from './y-webrtc-server.js';

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
    await syncs(provider(node.url, `doc-${round}`), provider(node.url, `doc-${round}`));
    expect(await node.hub.rooms()).toEqual([node.ywebrtc.dialect.roomOf(`doc-${round}`)]);
  }, 60000);

  it('with a password (encrypted signalling data) too', async () => {
    const node = await startYWebrtcServer();
    servers.push(node);
    await syncs(provider(node.url, `secret-${round}`, 'pw'), provider(node.url, `secret-${round}`, 'pw'));
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
    await syncs(provider(one.url, `doc-${round}`), provider(two.url, `doc-${round}`));
    expect(await one.hub.members(one.ywebrtc.dialect.roomOf(`doc-${round}`))).toHaveLength(2);
  }, 60000);
});
