import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { type HubOptions, SignallingHub } from '../../src/index.js';
import { attachYWebrtc, type YWebrtcAttachment, type YWebrtcOptions } from '../../src/y-webrtc.js';
import type { AttachOptions } from '../../src/ws.js';
import { type Frame, Inbox } from '../helpers/inbox.js';

/** A hub serving y-webrtc on a fresh loopback port. */
export interface YWebrtcServer {
  hub: SignallingHub;
  server: Server;
  ywebrtc: YWebrtcAttachment;
  port: number;
  /** `ws://127.0.0.1:<port><path>` */
  url: string;
  close(): Promise<void>;
}

export async function startYWebrtcServer(
  hubOptions?: HubOptions,
  options?: YWebrtcOptions,
  attachOptions?: Omit<AttachOptions, 'path'>,
): Promise<YWebrtcServer> {
  const hub = new SignallingHub(hubOptions);
  await hub.ready;
  const server = createServer((_request, response) => response.end('host app'));
  const ywebrtc = attachYWebrtc(hub, server, options, attachOptions);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    hub,
    server,
    ywebrtc,
    port,
    url: `ws://127.0.0.1:${port}${ywebrtc.dialect.options.path}`,
    async close() {
      await ywebrtc.close();
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** y-webrtc's own server (`bin/server.js` of the installed package) on a free port. */
export async function startReferenceServer(): Promise<{ url: string; child: ChildProcess; close(): Promise<void> }> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const script = fileURLToPath(new URL('../../node_modules/y-webrtc/bin/server.js', import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // It prints one line once it listens.
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`reference server exited with ${code}`)));
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    child,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/** A raw y-webrtc signalling client over `ws`: frames out, every text frame in. */
export class RawClient {
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

  static async connect(url: string): Promise<RawClient> {
    const socket = new WebSocket(url);
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  next(match?: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
    return this.inbox.next(match, timeoutMs);
  }

  /** Sends `ping` and waits for the `pong`: every frame sent before it has been handled. */
  async barrier(): Promise<void> {
    this.send({ type: 'ping' });
    await this.next((frame) => frame.type === 'pong');
  }
}
