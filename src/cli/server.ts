import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { SignallingHub } from '../core/hub.js';
import { attach, type Attachment } from '../transports/ws/attach.js';
import { pathnameOf } from '../transports/ws/pathname.js';
import type { CliOptions } from './args.js';
import { demoHandler } from './demo.js';
import { cliBackplane, joinCluster } from './cluster.js';

/** The standalone server: a plain `http.Server` with one hub attached, built on the public API. */
export interface StandaloneServer {
  readonly hub: SignallingHub;
  readonly server: Server;
  readonly attachment: Attachment;
  /** The WebSocket URL clients connect to. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startStandalone(options: CliOptions): Promise<StandaloneServer> {
  const hub = new SignallingHub({ backplane: cliBackplane(options.redis) });
  await joinCluster(hub, options.redis);
  const server = createServer(demoHandler(options.path));
  const attachment = attach(hub, server, { path: options.path });
  // The hub leaves other paths' upgrades alone; here nothing else serves them.
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    const pathname = pathnameOf(request.url);
    if (pathname === options.path) return;
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost =
    options.host === undefined || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const url = `ws://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}${options.path}`;
  return {
    hub,
    server,
    attachment,
    url,
    async close() {
      await attachment.close();
      await hub.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
