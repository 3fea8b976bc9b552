import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import type { RedisBackplane } from '../../src/redis.js';
import { clusterSuite, loggedIn, sleep, untilAsync, useRedisCluster } from '../helpers/cluster.js';
import { TestClient } from '../helpers/test-client.js';

/** Claims carry the login's claim id; a release only frees the claim it made. */
describe('fenced claims', () => {
  const cluster = useRedisCluster('f');
  const { clients } = cluster;

  async function connect(url: string): Promise<TestClient> {
    const client = await TestClient.connect(url);
    clients.push(client);
    return client;
  }

  it('keeps the name of a second login when the first login, closed while Redis was slow, releases late', async () => {
    const [one, two] = [await cluster.node(), await cluster.node()];
    const first = await connect(one.url);
    const second = await connect(one.url);
    // Shorter than commandTimeout (1000 ms): both claims wait, neither times out.
    expect(await cluster.redis.command('CLIENT PAUSE 400 ALL')).toBe('+OK');
    first.send({ type: 'login', name: 'Fenced' });
    await sleep(50);
    first.close();
    await first.closed;
    await sleep(30);
    // The same name again on the same node while the first claim still waits in Redis.
    expect(await second.login('Fenced')).toMatchObject({ success: true, name: 'Fenced' });
    // The first login's claim came back after its connection closed, so the hub released it: that release went out
    // after the second claim and must not free it.
    await sleep(150);
    const thief = await connect(two.url);
    expect(await thief.login('Fenced')).toMatchObject({ success: false, reason: 'name-taken' });
    const caller = await loggedIn(two.url, 'Caller', clients);
    caller.send({ type: 'offer', offer: { sdp: 'to the second login' }, name: 'Fenced' });
    expect(await second.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: 'to the second login' }, name: 'Caller' });
    expect(thief.inbox).toEqual([]);
  });

  it('stores the claim id with the owner, and a logout, a forward and close() all still work on it', async () => {
    const [one, two] = [await cluster.node(), await cluster.node()];
    const admin = createClient({ url: cluster.redis.url });
    await admin.connect();
    try {
      const a = await loggedIn(one.url, 'Owned', clients);
      const b = await loggedIn(two.url, 'Other', clients);
      const nodeOne = (one.hub.options.backplane as RedisBackplane).nodeId;
      const value = await admin.get(`{${cluster.prefix}}name:Owned`);
      expect(value).toMatch(new RegExp(`^${nodeOne} \\S+$`));
      b.send({ type: 'candidate', candidate: { candidate: 'c' }, name: 'Owned' });
      expect(await a.nextOf('candidate')).toMatchObject({ name: 'Other' });
      a.close();
      await a.closed;
      // The release is fire and forget: wait for it (with a deadline), then check both keys.
      await untilAsync(async () => (await admin.exists(`{${cluster.prefix}}name:Owned`)) === 0, 'the release in Redis');
      expect(await admin.sIsMember(`{${cluster.prefix}}names:${nodeOne}`, 'Owned')).toBe(0);
      const nodeTwo = (two.hub.options.backplane as RedisBackplane).nodeId;
      await two.close();
      expect(await admin.exists([`{${cluster.prefix}}name:Other`, `{${cluster.prefix}}names:${nodeTwo}`])).toBe(0);
    } finally {
      admin.destroy();
    }
  });
});

/** Names are compared as the hub sees them, never as their UTF-8 bytes on the bus. */
clusterSuite('names across nodes', 'fn', (cluster) => {
  const { clients } = cluster;

  async function connect(url: string): Promise<TestClient> {
    const client = await TestClient.connect(url);
    clients.push(client);
    return client;
  }

  it('keeps "v\\uD800" apart from "v\\uFFFD" across nodes', async () => {
    const [one, two] = [await cluster.node(), await cluster.node()];
    for (const at of [one, two]) {
      const refused = await connect(at.url);
      expect(await refused.login('v\uD800')).toMatchObject({ success: false, reason: 'invalid-name' });
    }
    const holder = await loggedIn(one.url, 'v\uFFFD', clients);
    const sender = await loggedIn(two.url, 'Sender', clients);
    // Raw text with the escape: the only way to put a lone surrogate in a UTF-8 text frame.
    sender.send('{"type":"offer","offer":{"sdp":"stray"},"name":"v\\uD800"}');
    expect(await sender.nextOf('error')).toMatchObject({ code: 'peer-not-found', request: 'offer', target: 'v\uD800' });
    sender.send('{"type":"candidate","candidate":{"candidate":"stray"},"name":"v\\ud800"}');
    expect(await sender.nextOf('error')).toMatchObject({ code: 'peer-not-found', request: 'candidate', target: 'v\uD800' });
    expect(await two.hub.send('v\uD800', { type: 'note' })).toBe(false);
    // The well-formed name is reachable as ever, and the very first frame it gets (through the same path as the strays).
    sender.send({ type: 'offer', offer: { sdp: 'meant' }, name: 'v\uFFFD' });
    expect(await holder.next()).toEqual({ type: 'offer', offer: { sdp: 'meant' }, name: 'Sender' });
    expect(holder.inbox).toEqual([]);
  });
});
