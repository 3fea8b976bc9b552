import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { type HubOptions, SignallingHub } from '../../src/index.js';
import { attachPeerjs, type PeerjsAttachment, type PeerjsOptions } from '../../src/peerjs.js';
import { type Frame, Inbox } from '../helpers/inbox.js';

/** A hub serving PeerJS (and nothing else but a host app) on a fresh loopback port. */
export interface PeerjsServer {
  hub: SignallingHub;
  server: Server;
  peerjs: PeerjsAttachment;
  port: number;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

export async function startPeerjsServer(hubOptions?: HubOptions, options?: PeerjsOptions): Promise<PeerjsServer> {
  const hub = new SignallingHub(hubOptions);
  await hub.ready;
  const server = createServer((_request, response) => response.end('host app'));
  const peerjs = attachPeerjs(hub, server, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    hub,
    server,
    peerjs,
    port,
    origin: `http://127.0.0.1:${port}`,
    async close() {
      await peerjs.close();
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A PeerJS client over `ws`: raw frames in, raw frames out. */
export class PeerjsWsClient {
  readonly inbox = new Inbox();
  /** Every text frame, unparsed, in order. */
  readonly texts: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, binary) => {
      const text = (data as Buffer).toString();
      this.texts.push(text);
      if (!binary) this.inbox.push(JSON.parse(text) as Frame);
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Connects to `{path}peerjs` with `query` (e.g. `key=peerjs&id=a&token=t`). */
  static async connect(port: number, query: string, path = '/'): Promise<PeerjsWsClient> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}peerjs?${query}`);
    const client = new PeerjsWsClient(socket);
    await new Promise<void>((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return client;
  }

  /** Connects as `id` with `token` and waits for `OPEN`. */
  static async open(port: number, id: string, token = `t-${id}`, key = 'peerjs', path = '/'): Promise<PeerjsWsClient> {
    const client = await PeerjsWsClient.connect(port, `key=${key}&id=${encodeURIComponent(id)}&token=${token}`, path);
    const first = await client.inbox.next();
    if (first.type !== 'OPEN') throw new Error(`expected OPEN, got ${JSON.stringify(first)}`);
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  next(match?: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
    return this.inbox.next(match, timeoutMs);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close();
    return this.closed;
  }
}
