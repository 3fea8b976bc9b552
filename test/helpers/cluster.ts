import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { RedisBackplane, type RedisBackplaneOptions } from '../../src/redis.js';
import { type HubServer, startHubServer } from './hub-server.js';
import { RedisServer } from './redis-server.js';
import { TestClient } from './test-client.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects to `url`, logs in as `name` (expecting success) and keeps the client in `owned` for cleanup. */
export async function loggedIn(url: string, name: string, owned: TestClient[]): Promise<TestClient> {
  const client = await TestClient.connect(url);
  owned.push(client);
  expect(await client.login(name)).toMatchObject({ type: 'login', success: true, name });
  return client;
}

/** Opens a call (offer, then answer), so that each side hears `leave` when the other goes. */
export async function startCall(caller: TestClient, callerName: string, callee: TestClient, calleeName: string): Promise<void> {
  caller.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 call' }, name: calleeName });
  expect(await callee.nextOf('offer')).toMatchObject({ name: callerName });
  callee.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 call' }, name: callerName });
  expect(await caller.nextOf('answer')).toMatchObject({ name: calleeName });
}

/**
 * Logs in as `name`, again every 100 ms while the name is still taken, for up
 * to `withinMs` (a release on another node is asynchronous); returns the last reply.
 */
export async function loginWithin(client: TestClient, name: string, withinMs: number) {
  const deadline = Date.now() + withinMs;
  let reply = await client.login(name);
  while (reply.success !== true && Date.now() < deadline) {
    await sleep(100);
    reply = await client.login(name);
  }
  return reply;
}

/**
 * The set-up every in-process cluster suite shares: one real `redis-server`
 * for the file, hubs joined through it with short leases, and a fresh key
 * prefix per test so tests cannot see each other's names. Clients and hubs
 * pushed to `clients`/`nodes` are closed after each test.
 */
export function useRedisCluster(tag: string) {
  let redis: RedisServer | undefined;
  let round = 0;
  const nodes: HubServer[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.dispose();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
    round++;
  });
  return {
    nodes,
    clients,
    get redis(): RedisServer {
      return redis!;
    },
    /** This test's key prefix. */
    get prefix(): string {
      return `${tag}${round}:`;
    },
    /** A hub joined to the cluster, ready. */
    async node(options: RedisBackplaneOptions = {}): Promise<HubServer> {
      const started = await startHubServer({
        backplane: new RedisBackplane({
          url: redis!.url,
          keyPrefix: this.prefix,
          leaseTtl: 1500,
          heartbeatInterval: 250,
          ...options,
        }),
      });
      nodes.push(started);
      await started.hub.ready;
      return started;
    },
  };
}
