import { type Server, type Socket, createServer, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A small round-robin TCP load balancer on loopback, as in front of a
 * cluster: each new connection goes to the next backend; a backend that
 * refuses the TCP connection (its process is gone) is skipped for the one
 * after it. It knows nothing of HTTP: a draining node that answers an
 * upgrade with 503 is the client's to retry, as behind a real balancer
 * between two health checks.
 */
export interface TcpBalancer {
  port: number;
  /** `ws://127.0.0.1:<port><path>` */
  url(path?: string): string;
  /** Index in the backends of the one the next connection tries first. */
  next: number;
  /** For each connection made so far, the index of the backend it went to (`-1`: none would take it). */
  readonly routed: number[];
  /** Destroys both sides of every live connection to `backend` (every backend when omitted): a drop. */
  drop(backend?: number): void;
  close(): Promise<void>;
}

export async function startTcpBalancer(backendPorts: readonly number[]): Promise<TcpBalancer> {
  const live = new Set<{ client: Socket; upstream: Socket; backend: number }>();
  const routed: number[] = [];
  let closing = false;

  /** Connects to backend `index`, or the ones after it, for `tries` backends. */
  const route = (client: Socket, connection: number, index: number, tries: number) => {
    if (tries === 0 || closing || client.destroyed) {
      routed[connection] = -1;
      client.destroy();
      return;
    }
    const upstream = connect(backendPorts[index]!, '127.0.0.1');
    let connected = false;
    upstream.on('error', () => {
      // Refused (or failed before it connected): the next backend.
      if (!connected) route(client, connection, (index + 1) % backendPorts.length, tries - 1);
    });
    upstream.once('connect', () => {
      connected = true;
      const pair = { client, upstream, backend: index };
      live.add(pair);
      routed[connection] = index;
      const end = () => {
        live.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.once('close', end);
      upstream.once('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  };

  const balancer: TcpBalancer = {
    port: 0,
    next: 0,
    routed,
    url: (path = '/') => `ws://127.0.0.1:${balancer.port}${path}`,
    drop(backend) {
      for (const pair of [...live]) {
        if (backend !== undefined && pair.backend !== backend) continue;
        live.delete(pair);
        pair.client.destroy();
        pair.upstream.destroy();
      }
    },
    async close() {
      closing = true;
      balancer.drop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server: Server = createServer((client) => {
    client.on('error', () => {});
    // Bytes the client sends before the backend is connected wait in the paused socket.
    client.pause();
    const index = balancer.next;
    balancer.next = (index + 1) % backendPorts.length;
    routed.push(-1);
    route(client, routed.length - 1, index, backendPorts.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  balancer.port = (server.address() as AddressInfo).port;
  return balancer;
}
