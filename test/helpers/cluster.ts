import { type Server, type Socket, createServer, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { HubOptions } from '../../src/index.js';
import { RedisBackplane, type RedisBackplaneOptions } from '../../src/redis.js';
import { type HubServer, startHubServer } from './hub-server.js';
import { RedisServer } from './redis-server.js';
import { TestClient } from './test-client.js';
import { sleep } from './time.js';

/** Re-exported for the cluster suites (one definition, in `time.ts`). */
export { sleep };

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
    /** A hub joined to the cluster, ready (`hubOptions`: the hub's own options, e.g. `resumeGrace`). */
    async node(options: RedisBackplaneOptions = {}, hubOptions: Omit<HubOptions, 'backplane'> = {}): Promise<HubServer> {
      const started = await startHubServer({
        ...hubOptions,
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

/**
 * A loopback TCP proxy to Redis that can be frozen: while frozen, bytes in
 * both directions are held (the connections stay open), as for a node that
 * stalls or is cut off without its sockets closing. `thaw()` lets them through
 * in order.
 */
export interface FreezableProxy {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /**
   * Holds bytes both ways, only those from Redis (`'replies'`: commands still
   * run, their answers and published messages do not come back) or only those
   * to it (`'requests'`); on every connection (also those opened later), or
   * only on the `connection`-th one accepted (0-based: a backplane opens its
   * command connection first, then its subscription).
   */
  freeze(direction?: ProxyDirection, connection?: number): void;
  /** Lets what was held through, in order, and stops holding (on every connection, or on one). */
  thaw(connection?: number): void;
  close(): Promise<void>;
}

export type ProxyDirection = 'both' | 'replies' | 'requests';

export async function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  interface Link {
    frozen: ProxyDirection | undefined;
    held: Array<() => void>;
  }
  let everywhere: ProxyDirection | undefined;
  const links: Link[] = [];
  const sockets = new Set<Socket>();
  const holds = (direction: ProxyDirection | undefined, reply: boolean) =>
    direction === 'both' || (direction === 'replies' && reply) || (direction === 'requests' && !reply);
  const relay = (link: Link, from: Socket, to: Socket, reply: boolean) =>
    from.on('data', (chunk) => {
      if (holds(link.frozen ?? everywhere, reply)) link.held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  const release = (link: Link) => {
    link.frozen = undefined;
    for (const write of link.held.splice(0)) write();
  };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const link: Link = { frozen: undefined, held: [] };
    links.push(link);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    relay(link, client, upstream, false);
    relay(link, upstream, client, true);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze(direction = 'both', connection) {
      if (connection === undefined) everywhere = direction;
      else links[connection]!.frozen = direction;
    },
    thaw(connection) {
      if (connection === undefined) {
        everywhere = undefined;
        for (const link of links) release(link);
      } else {
        release(links[connection]!);
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends an offer every 100 ms until `to` receives one, for up to `withinMs`; returns how long it took. */
export async function untilRelayed(from: TestClient, to: TestClient, target: string, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    from.send({ type: 'offer', offer: { sdp: 'retry' }, name: target });
    try {
      await to.nextOf('offer', 100);
      return Date.now() - started;
    } catch {
      if (Date.now() - started > withinMs) throw new Error(`no cross-node relay to ${target} within ${withinMs} ms`);
    }
  }
}
