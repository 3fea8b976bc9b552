import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type CloseEvent, SignallingClient } from '../../src/client.js';
import { EventStreamParser, LineTooLongError, type ServerEvent } from '../../src/client/http/event-stream.js';
import { HttpSocket, type HttpSocketFetch, type HttpSocketOptions } from '../../src/client/http-socket.js';
import type { HubOptions, PeerLeft } from '../../src/index.js';
import type { AttachOptions } from '../../src/ws.js';
import { launchChromium } from '../helpers/chromium.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';

/** HttpSocket classes that remember their sockets, so a test can ask which transport each uses. */
function recording(options: HttpSocketOptions = {}): { Socket: new (url: string) => HttpSocket; sockets: HttpSocket[] } {
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

/** Events of a bare socket, in order. */
function eventsOf(
  socket: HttpSocket,
): Array<{ type: string; data?: string; code?: number; reason?: string; wasClean?: boolean }> {
  const events: Array<{ type: string; data?: string; code?: number; reason?: string; wasClean?: boolean }> = [];
  for (const type of ['open', 'message', 'close', 'error'] as const) {
    socket.addEventListener(type, (event) => {
      const { data, code, reason, wasClean } = event as { data?: string; code?: number; reason?: string; wasClean?: boolean };
      events.push({ type, ...(data === undefined ? {} : { data }), ...(code === undefined ? {} : { code, reason, wasClean }) });
    });
  }
  return events;
}

describe('HttpSocket: the HTTP fallback behind the WebSocket interface', () => {
  let served: HubServer | undefined;
  const clients: SignallingClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await served?.close();
    served = undefined;
  });

  async function serve(hubOptions?: HubOptions, attachOptions: AttachOptions = {}): Promise<string> {
    served = await startHubServer(hubOptions, { path: '/signalling', closeTimeout: 100, ...attachOptions });
    return served.url;
  }

  function client(url: string, WebSocketClass: new (url: string) => unknown, options: object = {}): SignallingClient {
    const created = new SignallingClient(url, { WebSocket: WebSocketClass as never, ...options });
    clients.push(created);
    return created;
  }

  it.each(['auto', 'stream', 'poll'] as const)(
    'carries SignallingClient’s conversation with a WebSocket peer (transport %s)',
    async (transport) => {
      const url = await serve();
      const { Socket, sockets } = recording({ transport });
      const alice = client(url, Socket);
      const bob = client(url, WebSocket);
      await alice.login('alice');
      await bob.login('bob');
      expect(sockets[0]!.transport).toBe(transport === 'poll' ? 'poll' : 'stream');
      expect(sockets[0]!.readyState).toBe(HttpSocket.OPEN);

      const offer = nextEvent(bob, 'offer');
      alice.offer('bob', { type: 'offer', sdp: 'v=0 alice' });
      expect(await offer).toEqual({ from: 'alice', offer: { type: 'offer', sdp: 'v=0 alice' } });
      const answer = nextEvent(alice, 'answer');
      bob.answer('alice', { type: 'answer', sdp: 'v=0 bob' });
      expect(await answer).toEqual({ from: 'bob', answer: { type: 'answer', sdp: 'v=0 bob' } });

      // A burst of candidates both ways arrives complete and in order.
      const toBob: string[] = [];
      const toAlice: string[] = [];
      bob.on('candidate', ({ candidate }) => toBob.push(candidate!.candidate!));
      alice.on('candidate', ({ candidate }) => toAlice.push(candidate!.candidate!));
      const expected = Array.from({ length: 30 }, (_, n) => `candidate:${n}`);
      for (const candidate of expected) {
        alice.candidate('bob', { candidate });
        bob.candidate('alice', { candidate });
      }
      await until(() => toBob.length === 30 && toAlice.length === 30, 'every candidate');
      expect(toBob).toEqual(expected);
      expect(toAlice).toEqual(expected);

      const error = nextEvent(alice, 'error');
      alice.offer('nobody', { type: 'offer', sdp: 'x' });
      expect(await error).toMatchObject({ code: 'peer-not-found', target: 'nobody' });

      const left = nextEvent(bob, 'leave');
      alice.leave('bob');
      expect(await left).toEqual({ from: 'alice' });
      expect(served!.hub.getPeer('alice')?.remoteAddress).toBe('127.0.0.1');
    },
  );

  it('gets message-too-large for an over-size frame, and a 4429 close event (no reconnection) past the rate limit', async () => {
    const url = await serve({ maxMessageBytes: 2048, rateLimit: { messagesPerSecond: 1, burst: 5 } });
    const alice = client(url, HttpSocket, { sendRate: false });
    await alice.login('alice');
    const error = nextEvent(alice, 'error');
    alice.offer('alice', { type: 'offer', sdp: 'x'.repeat(2100) });
    expect(await error).toMatchObject({ code: 'message-too-large' });

    const closed = nextEvent(alice, 'close');
    const left = new Promise<PeerLeft>((resolve) => served!.hub.once('peer-left', resolve));
    for (let n = 0; n < 20; n++) alice.candidate('alice', { candidate: `c${n}` });
    expect(await closed).toMatchObject({ code: 4429, reconnecting: false } satisfies Partial<CloseEvent>);
    expect(await left).toMatchObject({ code: 4429 });
    expect(alice.state).toBe('closed');
  });

  it('says goodbye with close(): frames sent just before go first, the hub sees 1000', async () => {
    const url = await serve();
    const bob = client(url, WebSocket);
    await bob.login('bob');
    const socket = new HttpSocket(url);
    const events = eventsOf(socket);
    await until(() => socket.readyState === HttpSocket.OPEN, 'open');
    expect(() => socket.close(1001)).toThrow(/1000 or from 3000 to 4999/);
    socket.send(JSON.stringify({ type: 'login', name: 'alice' }));
    socket.send(JSON.stringify({ type: 'offer', offer: { sdp: 'last words' }, name: 'bob' }));
    const offer = nextEvent(bob, 'offer');
    const left = new Promise<PeerLeft>((resolve) => served!.hub.once('peer-left', resolve));
    socket.close(1000, 'bye');
    expect(socket.readyState).toBe(HttpSocket.CLOSING);
    expect(await offer).toEqual({ from: 'alice', offer: { sdp: 'last words' } });
    expect(await left).toMatchObject({ name: 'alice', code: 1000 });
    await until(() => socket.readyState === HttpSocket.CLOSED, 'closed');
    expect(events.at(-1)).toEqual({ type: 'close', code: 1000, reason: 'bye', wasClean: true });
    expect(events[0]).toEqual({ type: 'open' });
    // Sends after close are dropped, as on a WebSocket.
    socket.send('{"type":"dance"}');
    expect(served!.attachment.httpSessions).toBe(0);
  });

  it('delivers a frame once when a POST is retried after its answer was lost', async () => {
    const url = await serve();
    const bob = client(url, WebSocket);
    await bob.login('bob');
    let dropped = 0;
    const lossy: HttpSocketFetch = async (target, init) => {
      const response = await fetch(target, init);
      // The first POST carrying seq 2 reaches the server; its answer is "lost".
      if (init.method === 'POST' && new URL(target).searchParams.get('seq') === '2' && dropped++ === 0) {
        throw new TypeError('network error');
      }
      return response;
    };
    const alice = client(url, HttpSocket.with({ fetch: lossy }));
    await alice.login('alice');
    const offers: string[] = [];
    bob.on('offer', ({ offer }) => offers.push(offer.sdp!));
    alice.offer('bob', { type: 'offer', sdp: 'once' });
    await until(() => offers.length === 1 && dropped === 1, 'the offer');
    alice.offer('bob', { type: 'offer', sdp: 'next' });
    await until(() => offers.length === 2, 'the next offer');
    expect(offers).toEqual(['once', 'next']);
  });

  it('falls back to long-polling when the stream’s first event does not come within streamTimeout', async () => {
    const url = await serve();
    // A "proxy" that holds every stream back: the response comes, its body never does.
    const holding: HttpSocketFetch = async (target, init) => {
      const response = await fetch(target, init);
      if (init.headers.accept !== 'text/event-stream') return response;
      void response.body?.cancel();
      return {
        status: response.status,
        text: () => new Promise<string>(() => {}),
        body: {
          getReader: () => ({
            read: () =>
              new Promise<{ done: boolean; value?: Uint8Array }>((_resolve, reject) =>
                init.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
              ),
            cancel: () => Promise.resolve(),
          }),
        },
      };
    };
    const { Socket, sockets } = recording({ fetch: holding, streamTimeout: 300 });
    const alice = client(url, Socket);
    await alice.login('alice');
    expect(sockets[0]!.transport).toBe('poll');
    const bob = client(url, WebSocket);
    await bob.login('bob');
    const offer = nextEvent(alice, 'offer');
    bob.offer('alice', { type: 'offer', sdp: 'polled' });
    expect(await offer).toEqual({ from: 'bob', offer: { type: 'offer', sdp: 'polled' } });
  });

  it('fails with an error and close 1006 when the session is refused or the server goes away', async () => {
    const url = await serve(undefined, { origins: ['http://good.example'], httpFallback: { sessionTimeout: 400 } });
    const refused = new (HttpSocket.with({ headers: { origin: 'http://evil.example' } }))(url);
    const refusedEvents = eventsOf(refused);
    await until(() => refused.readyState === HttpSocket.CLOSED, 'refused');
    expect(refusedEvents).toEqual([
      { type: 'error' },
      { type: 'close', code: 1006, reason: 'the server refused the session (HTTP 403)', wasClean: false },
    ]);

    const socket = new HttpSocket(url);
    const events = eventsOf(socket);
    await until(() => socket.readyState === HttpSocket.OPEN, 'open');
    // The server vanishes without a word: no close event can come.
    await served!.attachment.close();
    served!.server.closeAllConnections();
    await until(() => socket.readyState === HttpSocket.CLOSED, 'closed', 10000);
    expect(events.map((event) => event.type)).toEqual(['open', 'close']);
    expect(events[1]).toMatchObject({ code: 1001, wasClean: true });

    // A server that stops answering at all: the socket gives up once the session would have expired.
    await served!.close();
    const second = await startHubServer(undefined, { path: '/signalling', httpFallback: { sessionTimeout: 400 } });
    served = second;
    const lonely = new (HttpSocket.with({ transport: 'poll' }))(second.url);
    const lonelyEvents = eventsOf(lonely);
    await until(() => lonely.readyState === HttpSocket.OPEN, 'open');
    second.server.close();
    second.server.closeAllConnections();
    await until(() => lonely.readyState === HttpSocket.CLOSED, 'gave up', 10000);
    expect(lonelyEvents.map((event) => event.type)).toEqual(['open', 'error', 'close']);
    expect(lonelyEvents.at(-1)).toMatchObject({ code: 1006, wasClean: false });
  });
});

describe('HttpSocket does not trust its server too much', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('parses the event stream in linear time: each character is looked at once, however the text is cut', () => {
    const events: ServerEvent[] = [];
    const parser = new EventStreamParser((event) => events.push(event), 32 * 1024 * 1024);
    const chunk = 'x'.repeat(8192);
    let fed = 0;
    parser.feed('data: ');
    fed += 6;
    // 24 MB in 8 KB chunks, one line: the old parser rescanned the whole unfinished line per chunk (quadratic).
    for (let i = 0; i < 3072; i++) {
      parser.feed(chunk);
      fed += chunk.length;
    }
    parser.feed('\r\n\r');
    parser.feed('\n');
    fed += 4;
    expect(parser.scanned).toBe(fed - 1); // the \n after a chunk-ending \r is skipped, not scanned
    expect(events).toHaveLength(1);
    expect(events[0]!.data.length).toBe(24 * 1024 * 1024);
    expect(events[0]!.event).toBe('message');
  });

  it('bounds a line, and the data of one event, by maxLineLength', () => {
    const line = new EventStreamParser(() => {}, 100);
    line.feed('data: ' + 'x'.repeat(60));
    expect(() => line.feed('x'.repeat(60))).toThrow(LineTooLongError);
    // Many short data lines without the blank line that ends the event are bounded too.
    const event = new EventStreamParser(() => {}, 100);
    expect(() => {
      for (let i = 0; i < 100; i++) event.feed('data: xxxxxxxx\n');
    }).toThrow(LineTooLongError);
    // Within the bound, events are read as before (the bound counts per event).
    const events: ServerEvent[] = [];
    const fine = new EventStreamParser((e) => events.push(e), 100);
    for (let i = 0; i < 100; i++) fine.feed('id: ' + String(i + 1) + '\ndata: xxxxxxxx\n\n');
    expect(events).toHaveLength(100);
  });

  /** An HTTP server on loopback that opens a session, then streams one endless line (24 MB in 8 KB chunks). */
  async function endlessLineServer(): Promise<{ url: string; written: () => number; streamClosed: Promise<void> }> {
    let written = 0;
    let closedStream!: () => void;
    const streamClosed = new Promise<void>((resolve) => (closedStream = resolve));
    const server: Server = createServer((request, response: ServerResponse) => {
      if (request.method === 'POST' && !request.url!.includes('session=')) {
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ session: 's', secret: 'k', heartbeat: 0, timeout: 60000, pollTimeout: 25000, maxBodyBytes: 65536 }),
        );
        return;
      }
      if (request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write('event: open\ndata: {}\n\nid: 1\ndata: ');
        response.once('close', () => closedStream());
        const chunk = 'x'.repeat(8192);
        const pump = () => {
          while (written < 24 * 1024 * 1024 && !response.destroyed) {
            written += chunk.length;
            if (!response.write(chunk)) return void response.once('drain', pump);
          }
        };
        pump();
        return;
      }
      response.writeHead(204);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/signalling`, written: () => written, streamClosed };
  }

  it('closes with 1006 and a clear error when the server sends a line over maxLineLength (default 4 Mi)', async () => {
    const server = await endlessLineServer();
    const socket = new (HttpSocket.with({ transport: 'stream' }))(server.url);
    const errors: string[] = [];
    socket.addEventListener('error', (event) => errors.push((event as { message: string }).message));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.addEventListener('close', (event) => resolve(event as { code: number; reason: string })),
    );
    expect(await closed).toMatchObject({ code: 1006, reason: expect.stringMatching(/longer than 4194304 characters/) });
    expect(errors).toEqual([expect.stringMatching(/event-stream line or event longer than 4194304 characters .*maxLineLength/)]);
    // The client let go of the stream: the server saw it close before it had sent its 24 MB.
    await server.streamClosed;
    expect(server.written()).toBeLessThan(24 * 1024 * 1024);
  });

  it('resolves a relative URL against the page, and says clearly that Node has none', async () => {
    expect(() => new HttpSocket('/signalling')).toThrow(/relative URL "\/signalling" needs a page to resolve against/);
    const hub = await startHubServer(undefined, { path: '/signalling', closeTimeout: 100 });
    cleanups.push(() => hub.close());
    const global = globalThis as { location?: { href: string } };
    // As in a page served by the hub's host: SignallingClient('/signalling') over the HTTP fallback.
    global.location = { href: `http://127.0.0.1:${hub.port}/app/index.html` };
    cleanups.push(() => delete global.location);
    const alice = new SignallingClient('/signalling', { transport: 'http' });
    cleanups.push(() => alice.close());
    await expect(alice.login('alice')).resolves.toEqual({ name: 'alice', resumed: false });
    expect(alice.transport).toBe('http');
    expect(hub.hub.getPeer('alice')).toBeDefined();
  });
});

describe('a relative URL in a browser page (headless Chromium)', () => {
  it("new SignallingClient('/signalling') logs in over the HTTP fallback, resolved against the page", async () => {
    const bundled = await build({
      entryPoints: [new URL('../../src/client.ts', import.meta.url).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      write: false,
    });
    const bundle = bundled.outputFiles[0]!.text;
    const page = `<!doctype html><script type="module">
import { SignallingClient } from '/client.js';
window.start = async (transport) => {
  const client = new SignallingClient('/signalling', { transport });
  await client.login('page-' + transport);
  return client.transport;
};
window.ready = true;
</script>`;
    const hub = await startHubServer(undefined, { path: '/signalling', closeTimeout: 100 });
    // The host's own pages (the fallback's requests never reach these listeners).
    hub.server.removeAllListeners('request');
    hub.server.on('request', (request, response) => {
      if (request.url === '/client.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else if (request.url === '/app/page') response.writeHead(200, { 'content-type': 'text/html' }).end(page);
      else response.writeHead(404).end();
    });
    const browser = await launchChromium();
    try {
      const tab = await (await browser.newContext()).newPage();
      const errors: string[] = [];
      tab.on('pageerror', (error) => errors.push(error.message));
      await tab.goto(`http://127.0.0.1:${hub.port}/app/page`);
      await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      const start = (transport: string) =>
        tab.evaluate((t) => (window as unknown as { start(t: string): Promise<string> }).start(t), transport);
      expect(await start('http')).toBe('http');
      expect(await start('websocket')).toBe('websocket');
      expect(hub.hub.getPeer('page-http')).toBeDefined();
      expect(hub.hub.getPeer('page-websocket')).toBeDefined();
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await hub.close();
    }
  }, 60_000);
});
