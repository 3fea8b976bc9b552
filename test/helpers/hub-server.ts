import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type HubOptions, SignallingHub } from '../../src/index.js';
import { type AttachOptions, type Attachment, attach } from '../../src/ws.js';

/** A hub attached to a fresh `http.Server` on an ephemeral loopback port. */
export interface HubServer {
  hub: SignallingHub;
  server: Server;
  attachment: Attachment;
  /** `ws://127.0.0.1:<port><path>` */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startHubServer(hubOptions?: HubOptions, attachOptions?: AttachOptions): Promise<HubServer> {
  const hub = new SignallingHub(hubOptions);
  const server = createServer((_request, response) => response.end('host app'));
  const attachment = attach(hub, server, attachOptions);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    hub,
    server,
    attachment,
    port,
    url: `ws://127.0.0.1:${port}${attachOptions?.path ?? '/'}`,
    async close() {
      await attachment.close();
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
