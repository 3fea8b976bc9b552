import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignallingClient } from '../../src/client.js';
import { HttpSocket } from '../../src/client/http-socket.js';
import { nextEvent } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { Nginx } from '../helpers/nginx.js';
import { TestClient } from '../helpers/test-client.js';
import { RawHttpSession } from './raw-http.js';

/** What a WebSocket handshake to `url` gets: 101, or the HTTP status and body of the refusal. */
function handshake(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.on('open', () => {
      resolve({ status: 101, body: '' });
      socket.close();
    });
    socket.on('error', (error) => {
      if (!error.message.startsWith('Unexpected server response')) reject(error);
    });
  });
}

describe('the HTTP fallback behind a real nginx left at its proxy defaults', () => {
  let served: HubServer;
  /** `proxy_pass` alone: no Upgrade forwarded, responses buffered unless X-Accel-Buffering: no. */
  let plain: Nginx;
  /** A proxy that buffers whatever the upstream says, as some corporate proxies do. */
  let buffering: Nginx;
  const clients: SignallingClient[] = [];

  beforeAll(async () => {
    served = await startHubServer(undefined, { path: '/signalling', closeTimeout: 100 });
    plain = await Nginx.start({ upstreamPort: served.port });
    buffering = await Nginx.start({ upstreamPort: served.port, locationDirectives: 'proxy_ignore_headers X-Accel-Buffering;' });
  });

  afterAll(async () => {
    for (const client of clients.splice(0)) await client.close();
    await served?.close();
    await plain?.stop();
    await buffering?.stop();
  });

  function client(url: string, WebSocketClass: new (url: string) => unknown): SignallingClient {
    const created = new SignallingClient(url, { WebSocket: WebSocketClass as never });
    clients.push(created);
    return created;
  }

  /** HttpSocket classes that remember their sockets. */
  function recording(options: ConstructorParameters<typeof HttpSocket>[1] = {}) {
    const sockets: HttpSocket[] = [];
    const Base = HttpSocket.with(options);
    class Socket extends Base {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    }
    return { Socket, sockets };
  }

  it('lets no WebSocket through: nginx forwards no Upgrade header, so the handshake ends as a plain GET', async () => {
    // Directly, the upgrade works.
    expect(await handshake(served.url)).toEqual({ status: 101, body: '' });
    // Through nginx the hub never sees an upgrade: the host app answers a plain GET, and the client gives up.
    expect(await handshake(`ws://127.0.0.1:${plain.port}/signalling`)).toEqual({ status: 200, body: 'host app' });
    expect(served.attachment.connections).toBe(0);
  });

  it('passes Server-Sent Events through nginx’s buffering as they happen (X-Accel-Buffering: no)', async () => {
    const alice = await RawHttpSession.create(`${plain.origin}/signalling`);
    expect((await alice.post([{ type: 'login', name: 'sse-alice' }], 1)).status).toBe(204);
    const stream = await alice.stream();
    expect(stream.status).toBe(200);
    // Each event arrives while the response is still open: nothing waits for a buffer to fill or the end.
    expect(await stream.next((event) => event.event === 'open')).toMatchObject({ event: 'open' });
    expect(await stream.frame((frame) => frame.type === 'login')).toMatchObject({ success: true, name: 'sse-alice' });
    const bob = await TestClient.connect(served.url);
    await bob.login('sse-bob');
    for (const n of [1, 2, 3]) {
      bob.send({ type: 'candidate', candidate: { candidate: `c${n}` }, name: 'sse-alice' });
      expect(
        await stream.frame((frame) => (frame.candidate as { candidate?: string } | null)?.candidate === `c${n}`),
      ).toMatchObject({
        name: 'sse-bob',
      });
    }
    expect((await alice.post([{ type: 'offer', offer: { sdp: 'through nginx' }, name: 'sse-bob' }], 2)).status).toBe(204);
    expect(await bob.next()).toEqual({ type: 'offer', offer: { sdp: 'through nginx' }, name: 'sse-alice' });
    await stream.close();
    expect((await alice.delete()).status).toBe(204);
    bob.close();
  });

  it('runs SignallingClient over HttpSocket behind nginx, streaming, with a WebSocket peer connected directly', async () => {
    const { Socket, sockets } = recording();
    const alice = client(`ws://127.0.0.1:${plain.port}/signalling`, Socket);
    const bob = client(served.url, WebSocket);
    await alice.login('nginx-alice');
    await bob.login('nginx-bob');
    expect(sockets[0]!.transport).toBe('stream');
    const offer = nextEvent(bob, 'offer');
    alice.offer('nginx-bob', { type: 'offer', sdp: 'v=0 from behind nginx' });
    expect(await offer).toEqual({ from: 'nginx-alice', offer: { type: 'offer', sdp: 'v=0 from behind nginx' } });
    const answer = nextEvent(alice, 'answer');
    bob.answer('nginx-alice', { type: 'answer', sdp: 'v=0 direct' });
    expect(await answer).toEqual({ from: 'nginx-bob', answer: { type: 'answer', sdp: 'v=0 direct' } });
    const leave = nextEvent(alice, 'leave');
    bob.leave('nginx-alice');
    expect(await leave).toEqual({ from: 'nginx-bob' });
    await alice.close();
  });

  it('behind a proxy that buffers anyway, the stream shows nothing while long-polling works, and HttpSocket switches to it', async () => {
    const alice = await RawHttpSession.create(`${buffering.origin}/signalling`);
    expect((await alice.post([{ type: 'login', name: 'held-alice' }], 1)).status).toBe(204);
    // The stream is held back whole (nginx waits for its buffer to fill), headers included: nothing within a second.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 1000);
    const outcome = await fetch(alice.url(), {
      headers: { ...alice.headers(), accept: 'text/event-stream' },
      signal: controller.signal,
    }).then(
      async (response) => `headers ${response.status}, then ${await response.text().catch(() => 'nothing')}`,
      () => 'nothing',
    );
    clearTimeout(timer);
    expect(outcome).toBe('nothing');
    // A poll's response is complete, so buffering only delays it to its end: the login reply comes.
    expect(await alice.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true, name: 'held-alice' });
    expect((await alice.delete()).status).toBe(204);

    const { Socket, sockets } = recording({ streamTimeout: 1000 });
    const carol = client(`ws://127.0.0.1:${buffering.port}/signalling`, Socket);
    const dave = client(served.url, WebSocket);
    await carol.login('held-carol');
    await dave.login('held-dave');
    expect(sockets[0]!.transport).toBe('poll');
    const offer = nextEvent(carol, 'offer');
    dave.offer('held-carol', { type: 'offer', sdp: 'polled through nginx' });
    expect(await offer).toEqual({ from: 'held-dave', offer: { type: 'offer', sdp: 'polled through nginx' } });
    const answer = nextEvent(dave, 'answer');
    carol.answer('held-dave', { type: 'answer', sdp: 'answered by POST' });
    expect(await answer).toEqual({ from: 'held-carol', answer: { type: 'answer', sdp: 'answered by POST' } });
  });
});
