import type { IncomingMessage } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LoginError, SignallingClient, type TransportEvent, type WebSocketLike } from '../../src/client.js';
import type { AttachOptions } from '../../src/ws.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { Nginx } from '../helpers/nginx.js';

/**
 * The `ws` package's WebSocket seen as a browser sees one: events only, no
 * `unexpected-response`, so a refused upgrade is a bare 1006 and the client
 * must ask the hub (the probe) why.
 */
class BrowserLikeWebSocket implements WebSocketLike {
  private readonly socket: WebSocket;
  constructor(url: string) {
    this.socket = new WebSocket(url);
    // A browser logs the failure; the ws package would throw without a listener.
    this.socket.on('error', () => {});
  }
  get readyState(): number {
    return this.socket.readyState;
  }
  send(data: string): void {
    this.socket.send(data);
  }
  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: object) => void): void {
    this.socket.addEventListener(type, (event) =>
      listener(type === 'close' ? { code: (event as { code: number }).code, reason: '' } : event),
    );
  }
}

const probeUrl = (server: HubServer, query = '') =>
  `http://127.0.0.1:${server.port}${server.attachment.path}?${query}transport=http&probe=1`;

describe('the handshake probe: GET <path>?transport=http&probe=1 runs the admission of a new connection', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  let nginx: Nginx | undefined;
  afterAll(async () => {
    await nginx?.stop();
  });

  async function hub(attachOptions: AttachOptions = {}) {
    const server = await startHubServer({}, attachOptions);
    cleanups.push(() => server.close());
    return server;
  }

  it('answers 204 when a connection would be admitted, and opens nothing', async () => {
    const server = await hub();
    const response = await fetch(probeUrl(server));
    expect(response.status).toBe(204);
    expect(server.attachment.httpSessions).toBe(0);
    expect(server.hub.stats().connections).toBe(0);
  });

  it('runs verifyUpgrade on the same query: 401 with the error body when it refuses', async () => {
    const urls: string[] = [];
    const server = await hub({
      verifyUpgrade: (request: IncomingMessage) => {
        urls.push(request.url ?? '');
        return new URL(request.url ?? '/', 'http://host').searchParams.get('token') === 'good';
      },
    });
    const refused = await fetch(probeUrl(server, 'token=bad&'));
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'unauthorized' });
    expect((await fetch(probeUrl(server, 'token=good&'))).status).toBe(204);
    expect(urls).toEqual(['/?token=bad&transport=http&probe=1', '/?token=good&transport=http&probe=1']);
  });

  it('answers 403 for a refused origin and 503 while the hub drains', async () => {
    const server = await hub({ origins: ['https://good.example'] });
    const refused = await fetch(probeUrl(server), { headers: { origin: 'https://evil.example' } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'origin-not-allowed' });
    expect((await fetch(probeUrl(server), { headers: { origin: 'https://good.example' } })).status).toBe(204);
    await server.hub.drain({ timeout: 100 });
    const draining = await fetch(probeUrl(server));
    expect(draining.status).toBe(503);
    expect(await draining.json()).toMatchObject({ error: 'unavailable' });
  });

  it('is not served with httpFallback: false (the host answers it), and a client then does as before', async () => {
    const server = await hub({ httpFallback: false, verifyUpgrade: () => false });
    const response = await fetch(probeUrl(server));
    expect(await response.text()).toBe('host app');
    const alice = new SignallingClient(server.url, { WebSocket: BrowserLikeWebSocket, transport: 'websocket', reconnect: false });
    cleanups.push(() => alice.close());
    const error = await alice.login('alice').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LoginError);
    expect((error as LoginError).reason).toBe('connection-closed');
  });

  it('tells a client whose WebSocket cannot see the status that it was refused: no HTTP session, no retry', async () => {
    const seen = { upgrades: 0, probes: 0, sessionPosts: 0 };
    const server = await hub({
      verifyUpgrade: (request: IncomingMessage) => {
        if (request.method === 'POST') seen.sessionPosts++;
        else if ((request.url ?? '').includes('probe=1')) seen.probes++;
        else seen.upgrades++;
        return false;
      },
    });
    const alice = new SignallingClient(server.url, { WebSocket: BrowserLikeWebSocket, reconnectDelay: 20 });
    cleanups.push(() => alice.close());
    const error = await alice.login('alice').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect((error as LoginError).message).toMatch(/The server refused this request/);
    expect(seen).toEqual({ upgrades: 1, probes: 1, sessionPosts: 0 });
    expect(alice.state).toBe('closed');
  });

  it('lets a client behind a proxy without Upgrade fall back to HTTP as before: the probe answers 204', async () => {
    const server = await hub({ path: '/signalling' });
    nginx = await Nginx.start({ upstreamPort: server.port });
    const behind = new SignallingClient(`ws://127.0.0.1:${nginx.port}/signalling`, { WebSocket: BrowserLikeWebSocket });
    cleanups.push(() => behind.close());
    const transports: TransportEvent[] = [];
    behind.on('transport', (event) => transports.push(event));
    await behind.login('behind');
    expect(behind.transport).toBe('http');
    expect(transports.at(-1)).toMatchObject({ transport: 'http', reason: expect.stringMatching(/upgrade failed twice/) });
  });
});
