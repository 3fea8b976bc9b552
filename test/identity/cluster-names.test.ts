import { afterAll, beforeAll, expect, it } from 'vitest';
import { SignallingHub } from '../../src/index.js';
import { RedisBackplane } from '../../src/redis.js';
import { MemoryClient } from '../helpers/memory-client.js';
import { RedisServer } from '../helpers/redis-server.js';

/** Two hubs sharing one real Redis; clients through `hub.open()` (10,000 sockets would not fit the fd limit). */
let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await redis.dispose();
});

async function twoNodes(
  prefix: string,
  options: ConstructorParameters<typeof SignallingHub>[0] = {},
  maxInFlightCommands = 1024,
  commandTimeout = 1000,
): Promise<SignallingHub[]> {
  const hubs = [0, 1].map(
    () =>
      new SignallingHub({
        rateLimit: false,
        ...options,
        backplane: new RedisBackplane({
          url: redis.url,
          keyPrefix: prefix,
          leaseTtl: 3000,
          heartbeatInterval: 500,
          maxInFlightCommands,
          commandTimeout,
        }),
      }),
  );
  await Promise.all(hubs.map((hub) => hub.ready));
  return hubs;
}

it('assigns 10,000 concurrent unnamed logins across two nodes unique names, each claimed in the cluster', async () => {
  // Room for every claim at once (by default a node answers claims past 1024 in flight `backplane-unavailable`),
  // and time for 10,000 of them on a busy machine (past commandTimeout a claim is answered `backplane-unavailable`).
  const hubs = await twoNodes('assigned:', { assignNames: true }, 16_384, 20_000);
  try {
    const clients = Array.from({ length: 10_000 }, (_, i) => new MemoryClient(hubs[i % 2]!));
    const replies = await Promise.all(
      clients.map((client) => {
        client.send({ type: 'login' });
        return client.nextOf('login', 60_000);
      }),
    );
    expect(replies.filter((reply) => reply.success !== true)).toEqual([]);
    const names = new Set(replies.map((reply) => reply.name as string));
    expect(names.size).toBe(10_000);
    expect(hubs[0]!.size + hubs[1]!.size).toBe(10_000);
    // Redis holds each name once, on the node that serves it.
    const held = await (hubs[0]!.options.backplane as RedisBackplane).listNames();
    expect(held.size).toBe(10_000);
    for (const [i, reply] of replies.entries())
      expect(held.get(reply.name as string)).toBe(hubs[i % 2]!.options.backplane!.nodeId);
  } finally {
    await Promise.all(hubs.map((hub) => hub.close()));
  }
}, 120_000);

it('suffixes a name held on the other node, and replaces it there under the replace policy', async () => {
  const suffix = await twoNodes('suffix:', { duplicateNames: 'suffix' });
  try {
    const a = new MemoryClient(suffix[0]!);
    const b = new MemoryClient(suffix[1]!);
    expect(await a.login('sam')).toMatchObject({ success: true, name: 'sam' });
    expect(await b.login('sam')).toMatchObject({ success: true, name: 'sam#2' });
  } finally {
    await Promise.all(suffix.map((hub) => hub.close()));
  }
  const replace = await twoNodes('replace:', { duplicateNames: 'replace' });
  try {
    const a = new MemoryClient(replace[0]!);
    const b = new MemoryClient(replace[1]!);
    expect(await a.login('sam')).toMatchObject({ success: true, name: 'sam' });
    expect(await b.login('sam')).toMatchObject({ success: true, name: 'sam' });
    expect(await a.closed).toMatchObject({ code: 4409 });
    expect(replace[1]!.getPeer('sam')).toBeDefined();
    expect(replace[0]!.getPeer('sam')).toBeUndefined();
  } finally {
    await Promise.all(replace.map((hub) => hub.close()));
  }
});

it('refuses relays across nodes with authorizeRelay, and tells deliver() results across nodes', async () => {
  const hubs = await twoNodes('policy:', { authorizeRelay: ({ from, to }) => !(from.name === 'eve' && to === 'bob') });
  try {
    const eve = new MemoryClient(hubs[0]!);
    const bob = new MemoryClient(hubs[1]!);
    const amy = new MemoryClient(hubs[0]!);
    await eve.login('eve');
    await bob.login('bob');
    await amy.login('amy');
    eve.send({ type: 'offer', offer: 'o', name: 'bob' });
    expect(await eve.nextOf('error')).toMatchObject({ code: 'forbidden', target: 'bob', request: 'offer' });
    amy.send({ type: 'offer', offer: 'o', name: 'bob' });
    // The sentinel: amy's offer came through the same path, eve's never did.
    expect(await bob.nextOf('offer')).toMatchObject({ name: 'amy' });
    expect(bob.inbox).toEqual([]);
    expect(await hubs[0]!.deliver('bob', { type: 'note' })).toBe('delivered');
    expect(await bob.nextOf('note')).toEqual({ type: 'note' });
    expect(await hubs[0]!.deliver('ghost', { type: 'note' })).toBe('not-found');
  } finally {
    await Promise.all(hubs.map((hub) => hub.close()));
  }
});
