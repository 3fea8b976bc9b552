import { type Server, type Socket, createServer, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback TCP proxy whose client side can be cut while the server side
 * stays open: a network blip the server has not noticed yet.
 */
export interface TcpProxy {
  port: number;
  /** Destroys the client side of every proxied connection; the upstream sockets stay open. */
  cut(): void;
  /**
   * Destroys both sides of every proxied connection, without a WebSocket
   * close frame: a drop the server sees at once (close code 1006).
   */
  drop(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.destroy();
      }
    },
    drop() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
