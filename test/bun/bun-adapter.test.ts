import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBunHandler } from '../../src/bun.js';
import { type PeerLeft, SignallingHub, type SignallingHubError } from '../../src/index.js';
import { BunClient } from '../helpers/bun-client.js';
import { BunChild, type BunHub } from '../helpers/bun-hub.js';
import { RawWsClient } from '../helpers/raw-ws.js';

/** The HTTP status a WebSocket handshake to `url` gets (101 when it is upgraded). */
function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
    });
    socket.once('error', reject);
  });
}

describe('signalling-hub/bun in the test process (no Bun needed)', () => {
  it('refuses what is not a hub, a closed hub, unknown options and bad values', async () => {
    expect(() => createBunHandler({} as never)).toThrow(/Invalid option hub/);
    const hub = new SignallingHub();
    expect(() => createBunHandler(hub, { path: 'nope' })).toThrow(/path/);
    expect(() => createBunHandler(hub, { maxPayload: 0 })).toThrow(/maxPayload/);
    expect(() => createBunHandler(hub, { origins: 'https://a.example' as never })).toThrow(/origins/);
    expect(() => createBunHandler(hub, { heartbeatIntervl: 5 } as never)).toThrow(/heartbeatIntervl/);
    await hub.close();
    expect(() => createBunHandler(hub)).toThrow(expect.objectContaining({ code: 'SH_ERR_HUB_CLOSED' }));
  });

  it("takes Bun's message limit from the hub unless given, and turns Bun's own idle timer and pings off", async () => {
    const hub = new SignallingHub({ maxMessageBytes: 4096 });
    expect(createBunHandler(hub, { heartbeatInterval: 0 }).websocket).toMatchObject({
      maxPayloadLength: 4096,
      idleTimeout: 0,
      sendPings: false,
      perMessageDeflate: false,
    });
    expect(createBunHandler(hub, { heartbeatInterval: 0, maxPayload: 1000 }).websocket.maxPayloadLength).toBe(1000);
    await hub.close();
  });

  it('leaves requests that are not an upgrade to its path to the host', async () => {
    const hub = new SignallingHub();
    const handler = createBunHandler(hub, { path: '/signalling', heartbeatInterval: 0 });
    const server = {
      upgrade: () => {
        throw new Error('not an upgrade to take');
      },
    };
    const upgrade = { upgrade: 'websocket', connection: 'Upgrade' };
    expect(handler.fetch(new Request('http://host/other', { headers: upgrade }), server)).toBeUndefined();
    expect(handler.fetch(new Request('http://host/signalling/x', { headers: upgrade }), server)).toBeUndefined();
    expect(handler.fetch(new Request('http://host/signalling'), server)).toBeUndefined();
    // The query string is not part of the path; the hub's answer is a promise.
    const refused = handler.fetch(new Request('http://host/signalling?token=1', { headers: upgrade }), {
      upgrade: () => false,
    });
    expect((await refused)?.status).toBe(400);
    await hub.close();
  });
});

describe('signalling-hub/bun on Bun.serve', () => {
  let child: BunChild;
  let bun: BunHub | undefined;
  const clients: Array<BunClient | RawWsClient> = [];

  beforeAll(async () => {
    child = new BunChild();
    await child.ready;
  });
  afterAll(async () => {
    await child.stop();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) {
      if (client instanceof BunClient) client.abort();
      else client.socket.destroy();
    }
    await bun?.close();
    bun = undefined;
  });

  const connect = async (options?: WebSocket.ClientOptions) => {
    const client = await BunClient.connect(bun!.url, bun!.hub, options);
    clients.push(client);
    return client;
  };
  const raw = async () => {
    const client = await RawWsClient.connect(bun!.port, '/');
    clients.push(client);
    return client;
  };

  describe('admission', () => {
    it('answers 403 to an origin not in the list and lets listed origins and non-browser clients in', async () => {
      bun = await child.start({}, { origins: ['https://app.example'], heartbeatInterval: 0 });
      expect(await handshakeStatus(bun.url, { origin: 'https://evil.example' })).toBe(403);
      expect(await handshakeStatus(bun.url, { origin: 'https://app.example' })).toBe(101);
      expect(await handshakeStatus(bun.url)).toBe(101);
    });

    it('gives verifyUpgrade the request and answers 401 when it says no, 500 when it throws', async () => {
      const seen: string[] = [];
      const errors: SignallingHubError[] = [];
      bun = await child.start(
        {},
        {
          path: '/signalling',
          heartbeatInterval: 0,
          verifyUpgrade: ({ url, headers }) => {
            seen.push(`${new URL(url).search} ${headers['x-app']}`);
            const token = new URL(url).searchParams.get('token');
            if (token === 'boom') throw new Error('token service down');
            return token === 'good';
          },
        },
      );
      bun.hub.on('error', (error: SignallingHubError) => errors.push(error));
      expect(await handshakeStatus(`${bun.url}?token=bad`, { 'x-app': 'demo' })).toBe(401);
      expect(await handshakeStatus(`${bun.url}?token=boom`)).toBe(500);
      expect(await handshakeStatus(`${bun.url}?token=good`)).toBe(101);
      expect(seen).toEqual(['?token=bad demo', '?token=boom undefined', '?token=good undefined']);
      await bun.hub.sync();
      expect(errors.map((error) => [error.code, (error.cause as Error).message])).toEqual([
        ['SH_ERR_HOOK_FAILED', 'token service down'],
      ]);
    });

    it('hands the upgrade request and address to authenticate', async () => {
      const seen: unknown[] = [];
      bun = await child.start({
        authenticate: ({ request, remoteAddress }) => {
          seen.push([request?.url, request?.headers['x-app'], remoteAddress]);
          return true;
        },
      });
      const client = await BunClient.connect(`${bun.url}?room=7`, bun.hub, { headers: { 'x-app': 'demo' } });
      clients.push(client);
      expect(await client.login('guest')).toMatchObject({ success: true });
      expect(seen).toEqual([['/?room=7', 'demo', '127.0.0.1']]);
      expect(bun.hub.getPeer('guest')?.remoteAddress).toBe('127.0.0.1');
    });

    it('answers 503 once the hub drains, and leaves other paths and plain requests to the host', async () => {
      bun = await child.start({}, { path: '/signalling', heartbeatInterval: 0 });
      const hostAnswer = await fetch(`http://127.0.0.1:${bun.port}/signalling`);
      expect([hostAnswer.status, await hostAnswer.text()]).toEqual([200, 'host app']);
      expect(await handshakeStatus(`ws://127.0.0.1:${bun.port}/elsewhere`)).toBe(200);
      await bun.hub.drain({ timeout: 0 });
      expect(await handshakeStatus(bun.url)).toBe(503);
    });
  });

  describe('close codes', () => {
    it('closes an oversized message with 1009, and the hub hears 1009', async () => {
      bun = await child.start({ maxMessageBytes: 1024 }, { heartbeatInterval: 0 });
      const client = await connect();
      await client.login('big');
      const left = new Promise<PeerLeft>((resolve) => bun!.hub.once('peer-left', resolve));
      client.send({ type: 'candidate', candidate: 'x'.repeat(2000), name: 'big' });
      expect((await client.closed).code).toBe(1009);
      expect(await left).toMatchObject({ name: 'big', code: 1009 });
    });

    it.each([
      { label: 'invalid UTF-8 in a text frame', frame: RawWsClient.frame(Buffer.from([0xff, 0xfe])), code: 1007 },
      { label: 'an RSV bit', frame: RawWsClient.frame('{}', { first: 0x80 | 0x40 | 1 }), code: 1002 },
      { label: 'an unmasked frame', frame: RawWsClient.frame('{}', { mask: Buffer.alloc(0) }), code: 1002 },
    ])('closes $label with $code, and the hub hears that code (as with the ws adapter)', async ({ frame, code }) => {
      bun = await child.start({}, { heartbeatInterval: 0 });
      const client = await raw();
      client.write(RawWsClient.frame('{"type":"login","name":"raw"}'));
      expect(await client.nextJson()).toMatchObject({ type: 'login', success: true });
      const left = new Promise<PeerLeft>((resolve) => bun!.hub.once('peer-left', resolve));
      client.write(frame);
      expect(await client.closeCode()).toBe(code);
      expect(await left).toMatchObject({ name: 'raw', code });
    });

    it('relays frames of many lengths whole, non-ASCII ones and one past the reused buffer included', async () => {
      bun = await child.start({}, { heartbeatInterval: 0 });
      const a = await connect();
      const b = await connect();
      await a.login('a');
      await b.login('b');
      // Lengths repeat (the hub reuses a buffer and its views per length); a long offer makes the buffer grow.
      const payloads = ['x', 'é😀', 'y'.repeat(300), 'ü'.repeat(150), 'z'.repeat(5000), 'x', 'é😀', 'y'.repeat(300)];
      for (const candidate of payloads) a.send({ type: 'candidate', name: 'b', candidate: { candidate } });
      for (const candidate of payloads) {
        expect(await b.nextOf('candidate')).toEqual({ type: 'candidate', candidate: { candidate }, name: 'a' });
      }
    });

    it('answers a binary frame with binary-not-supported and keeps the connection', async () => {
      bun = await child.start({}, { heartbeatInterval: 0 });
      const client = await connect();
      client.sendBinary(new Uint8Array([1, 2, 3]));
      expect(await client.nextOf('error')).toMatchObject({ code: 'binary-not-supported' });
      expect(await client.login('still-here')).toMatchObject({ success: true });
    });

    it("closes every connection with 1001 on the handler's close(), and answers 503 after it", async () => {
      bun = await child.start({}, { heartbeatInterval: 0 });
      const [a, b] = [await connect(), await connect()];
      await a.login('a');
      expect(await bun.hub.connections()).toBe(2);
      await bun.hub.closeHandler();
      expect([(await a.closed).code, (await b.closed).code]).toEqual([1001, 1001]);
      expect(await bun.hub.connections()).toBe(0);
      expect(await handshakeStatus(bun.url)).toBe(503);
    });

    it('does not wait for a client that does not read: Bun counts a connection closed once it sent the close', async () => {
      bun = await child.start({}, { heartbeatInterval: 0, closeTimeout: 60_000 });
      const client = await raw();
      client.write(RawWsClient.frame('{"type":"login","name":"deaf"}'));
      expect(await client.nextJson()).toMatchObject({ success: true });
      client.socket.pause();
      const left = new Promise<PeerLeft>((resolve) => bun!.hub.once('peer-left', resolve));
      await bun.hub.closeHandler();
      expect(await bun.hub.connections()).toBe(0);
      expect(await left).toMatchObject({ name: 'deaf', code: 1001 });
      client.socket.resume();
      expect(await client.closeCode()).toBe(1001);
    });
  });

  describe('heartbeat', () => {
    it('terminates a socket that stops answering pings (the hub hears 1006) and keeps the lively one', async () => {
      bun = await child.start({}, { heartbeatInterval: 100 });
      const silent = await connect({ autoPong: false });
      const lively = await connect();
      let pings = 0;
      lively.socket.on('ping', () => pings++);
      await silent.login('silent');
      await lively.login('lively');
      const left = new Promise<PeerLeft>((resolve) => bun!.hub.once('peer-left', resolve));
      expect(await left).toMatchObject({ name: 'silent', reason: 'closed', code: 1006 });
      expect((await silent.closed).code).toBe(1006);
      // The lively one answered every ping it got: it is still there after more rounds.
      const until = pings + 3;
      while (pings < until) await new Promise((resolve) => lively.socket.once('ping', resolve));
      await bun.hub.sync();
      expect(bun.hub.getPeer('lively')).toBeDefined();
      expect(lively.isOpen).toBe(true);
    });
  });

  describe('backpressure', () => {
    it("reports Bun's queue as bufferedAmount: a slow reader gets the sender peer-congested, not a disconnect", async () => {
      bun = await child.start(
        { maxBufferedBytes: 64 * 1024, slowConsumerTimeout: 60_000, rateLimit: false },
        { heartbeatInterval: 0 },
      );
      const writer = await connect();
      const reader = await connect();
      await writer.login('writer');
      await reader.login('reader');
      reader.pauseReading();
      const payload = 'x'.repeat(8 * 1024);
      let sent = 0;
      const congested = writer.next((frame) => frame.type === 'error' && frame.code === 'peer-congested', 15_000);
      let done = false;
      void congested.then(() => (done = true));
      while (!done && sent < 5000) {
        writer.send({ type: 'candidate', candidate: { n: sent, payload }, name: 'reader' });
        sent++;
        if (sent % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(await congested).toMatchObject({ target: 'reader' });
      // Bun holds what the client has not read, and the hub sees it.
      expect((await bun.hub.stats()).queuedBytes).toBeGreaterThan(64 * 1024);
      expect(writer.isOpen).toBe(true);
      // Reading again drains the queue: what was delivered arrives in order, and relays flow again.
      reader.resumeReading();
      let last = -1;
      for (;;) {
        const frame = await reader.nextOf('candidate', 10_000);
        const n = (frame.candidate as { n: number }).n;
        expect(n).toBeGreaterThan(last);
        last = n;
        if (reader.inbox.length === 0 && (await bun.hub.stats()).queuedBytes === 0) break;
      }
      writer.send({ type: 'candidate', candidate: { n: 'after' }, name: 'reader' });
      expect(await reader.next((frame) => (frame.candidate as { n: unknown }).n === 'after', 10_000)).toMatchObject({
        name: 'writer',
      });
      expect(bun.hub.getPeer('reader')).toBeDefined();
    });
  });
});
