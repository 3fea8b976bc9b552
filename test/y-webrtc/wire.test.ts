import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode } from '../../src/index.js';
import { HttpClient } from '../http/raw-http.js';
import { RawClient, startReferenceServer, startYWebrtcServer, type YWebrtcServer } from './y-webrtc-server.js';

const servers: Array<{ close(): Promise<void> }> = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function hub(...args: Parameters<typeof startYWebrtcServer>): Promise<YWebrtcServer> {
  const server = await startYWebrtcServer(...args);
  servers.push(server);
  return server;
}

async function connect(url: string): Promise<RawClient> {
  const client = await RawClient.connect(url);
  clients.push(client);
  return client;
}

/**
 * The same frames to a server, and every text frame each client got, in order. Barriers (ping/pong)
 * after each step: every frame of the step has reached both clients before the next one starts.
 */
async function script(url: string): Promise<{ a: string[]; b: string[] }> {
  const a = await connect(url);
  const b = await connect(url);
  const step = async (run: () => void) => {
    run();
    await a.barrier();
    await b.barrier();
  };
  await step(() => {
    a.send({ type: 'subscribe', topics: ['t1', 't2', 'ü "q" \\ 50%'] });
    b.send({ type: 'subscribe', topics: ['t1', 'ü "q" \\ 50%'] });
  });
  await step(() => a.send({ type: 'publish', topic: 't1', data: { type: 'announce', from: 'a' } }));
  await step(() =>
    b.send({
      type: 'publish',
      topic: 't1',
      data: { to: 'a', from: 'b', type: 'signal', token: 0.5, signal: { type: 'offer', sdp: 'v=0' } },
    }),
  );
  // y-webrtc with a password publishes base64 text as `data`.
  await step(() => a.send({ type: 'publish', topic: 'ü "q" \\ 50%', data: 'AAEC' }));
  await step(() => a.send({ type: 'publish', topic: 't2', data: { type: 'announce', from: 'a' } }));
  // `clients` the publisher set itself is overwritten, as by the reference (its key keeps its place).
  await step(() => b.send({ type: 'publish', clients: 99, topic: 't1', data: null }));
  await step(() => b.send({ type: 'unsubscribe', topics: ['t1'] }));
  await step(() => a.send({ type: 'publish', topic: 't1', data: { type: 'announce', from: 'a' } }));
  // Unknown types and a publish without a topic: ignored by both.
  await step(() => {
    a.send({ type: 'hello' });
    a.send({ type: 'publish', data: 1 });
  });
  return { a: a.texts, b: b.texts };
}

describe("y-webrtc wire: golden frames against y-webrtc's own server", () => {
  it('sends byte for byte what bin/server.js sends: publish to every subscriber with clients, the sender included; pong', async () => {
    const reference = await startReferenceServer();
    servers.push(reference);
    const expected = await script(reference.url);
    const node = await hub();
    const actual = await script(node.url);
    expect(actual).toEqual(expected);
    // And what that is, spelled out.
    const pong = '{"type":"pong"}';
    const announce = (clients: number, topic = 't1') =>
      `{"type":"publish","topic":"${topic}","data":{"type":"announce","from":"a"},"clients":${clients}}`;
    const signal =
      '{"type":"publish","topic":"t1","data":{"to":"a","from":"b","type":"signal","token":0.5,"signal":{"type":"offer","sdp":"v=0"}},"clients":2}';
    const encrypted = '{"type":"publish","topic":"ü \\"q\\" \\\\ 50%","data":"AAEC","clients":2}';
    const overwritten = '{"type":"publish","clients":2,"topic":"t1","data":null}';
    expect(expected).toEqual({
      a: [
        pong,
        announce(2),
        pong,
        signal,
        pong,
        encrypted,
        pong,
        announce(1, 't2'),
        pong,
        overwritten,
        pong,
        pong,
        announce(1),
        pong,
        pong,
      ],
      b: [pong, announce(2), pong, signal, pong, encrypted, pong, pong, overwritten, pong, pong, pong, pong],
    });
  });

  it('frees a topic when its last subscriber leaves (unsubscribe or close)', async () => {
    const node = await hub();
    const a = await connect(node.url);
    const b = await connect(node.url);
    a.send({ type: 'subscribe', topics: ['x', 'y'] });
    b.send({ type: 'subscribe', topics: ['x'] });
    await a.barrier();
    await b.barrier();
    const room = (topic: string) => node.ywebrtc.dialect.roomOf(topic);
    expect((await node.hub.rooms()).sort()).toEqual([room('x'), room('y')]);
    a.send({ type: 'unsubscribe', topics: ['y', 'never'] });
    await a.barrier();
    expect(await node.hub.rooms()).toEqual([room('x')]);
    b.socket.close();
    await b.closed;
    a.send({ type: 'unsubscribe', topics: ['x'] });
    await a.barrier();
    await expect.poll(() => node.hub.rooms()).toEqual([]);
  });

  it('answers ping with pong before anything else, and keeps no login from the client', async () => {
    const node = await hub();
    const a = await connect(node.url);
    a.send({ type: 'ping' });
    expect(await a.next()).toEqual({ type: 'pong' });
    const [peer] = node.hub.peers();
    expect(peer?.name).toMatch(/^y-webrtc:[A-Za-z0-9_-]{22}$/);
  });
});

describe('y-webrtc wire: bad input is answered, never a crash', () => {
  it('answers bad JSON, non-objects, missing types and fields with error frames; the connection stays usable', async () => {
    const node = await hub();
    const a = await connect(node.url);
    a.send('{not json');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'invalid-json' });
    a.send('[1,2]');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'invalid-message' });
    a.send('null');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'invalid-message' });
    a.send({ topics: ['x'] });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'invalid-message', message: 'Invalid message: no type' });
    a.send({ type: 'subscribe', topics: 'x' });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'invalid-message' });
    a.send({ type: 'subscribe', topics: [1, 'ok'] });
    expect(await a.next()).toMatchObject({
      type: 'error',
      code: 'invalid-message',
      message: 'Invalid message: a topic must be a string',
    });
    a.send({ type: 'publish', topic: 5, data: 1 });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'invalid-message' });
    a.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'binary-not-supported' });
    // Still subscribed to "ok" and publishing.
    a.send({ type: 'publish', topic: 'ok', data: 1 });
    expect(await a.next()).toEqual({ type: 'publish', topic: 'ok', data: 1, clients: 1 });
  });

  it('checks a publish it forwards without parsing whole: a frame that only looks like one is answered, the others go out as sent', async () => {
    const node = await hub();
    const a = await connect(node.url);
    const b = await connect(node.url);
    a.send({ type: 'subscribe', topics: ['t', 'other'] });
    b.send({ type: 'subscribe', topics: ['t'] });
    await a.barrier();
    await b.barrier();
    // Text after the data that would make the broadcast to the hub name another room, were it copied as it is.
    a.send('{"type":"publish","topic":"t","data":1},"room":"y-webrtc:other","x":{"a":1}');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'invalid-json' });
    a.send('{"type":"publish","topic":"t","data":{"a":1}');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'invalid-json' });
    // Shapes the byte check leaves to JSON.parse: deeper than it follows, spaces, a raw control character in the topic.
    const deep = '['.repeat(70) + ']'.repeat(70);
    a.send(`{"type":"publish","topic":"t","data":${deep}}`);
    expect(await b.next()).toEqual({ type: 'publish', topic: 't', data: JSON.parse(deep), clients: 2 });
    a.send('{"type":"publish","topic":"t","data": {"a" : 1} }');
    expect(await b.next()).toEqual({ type: 'publish', topic: 't', data: { a: 1 }, clients: 2 });
    a.send('{"type":"publish","topic":"t\u0001","data":1}');
    expect(await a.next((frame) => frame.type === 'error')).toMatchObject({ code: 'invalid-json' });
    a.send('{"type":"publish","topic":"t","data":"a\u0000b"}');
    expect(await a.next((frame) => frame.type === 'error')).toMatchObject({ code: 'invalid-json' });
    await a.barrier();
    await b.barrier();
    // b heard only the well-formed ones; a got their echoes and nothing else.
    expect(b.inbox.frames).toEqual([]);
    expect(a.inbox.frames.map((frame) => frame.type)).toEqual(['publish', 'publish']);
  });

  it('refuses a publish to a topic not subscribed (not-in-room), unless publishWithoutSubscribe', async () => {
    const strict = await hub();
    const a = await connect(strict.url);
    const b = await connect(strict.url);
    b.send({ type: 'subscribe', topics: ['t'] });
    await b.barrier();
    a.send({ type: 'publish', topic: 't', data: 1 });
    expect(await a.next()).toEqual({
      type: 'error',
      code: 'not-in-room',
      message: 'Publish refused: subscribe to the topic first',
      topic: 't',
    });
    await b.barrier();
    expect(b.texts).toEqual(['{"type":"pong"}', '{"type":"pong"}']);

    const open = await hub(undefined, { publishWithoutSubscribe: true });
    const c = await connect(open.url);
    const d = await connect(open.url);
    d.send({ type: 'subscribe', topics: ['t'] });
    await d.barrier();
    c.send({ type: 'publish', topic: 't', data: 1 });
    // As the reference: the subscribers get it with their count; the sender, not one, gets nothing.
    expect(await d.next()).toEqual({ type: 'publish', topic: 't', data: 1, clients: 1 });
    await c.barrier();
    expect(c.texts).toEqual(['{"type":"pong"}']);
  });

  it('limits topics per connection to maxRoomsPerPeer (too-many-rooms)', async () => {
    const node = await hub({ maxRoomsPerPeer: 2 });
    const a = await connect(node.url);
    a.send({ type: 'subscribe', topics: ['1', '2', '3'] });
    expect(await a.next()).toEqual({
      type: 'error',
      code: 'too-many-rooms',
      message: 'Subscribe refused: at most 2 topics per connection',
      topic: '3',
    });
    a.send({ type: 'unsubscribe', topics: ['1'] });
    a.send({ type: 'subscribe', topics: ['3'] });
    a.send({ type: 'publish', topic: '3', data: 0 });
    expect(await a.next()).toMatchObject({ type: 'publish', topic: '3', clients: 1 });
  });

  it('answers every topic of a subscribe past the rate limit, and the hub never drops one silently', async () => {
    const node = await hub({ rateLimit: { messagesPerSecond: 0.001, burst: 4 } });
    const a = await connect(node.url);
    // The login took 1 of 4; the subscribe frame 1 (its first join uses it); 2 more joins; then none.
    a.send({ type: 'subscribe', topics: ['1', '2', '3', '4', '5'] });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'rate-limited', topic: '4' });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'rate-limited', topic: '5' });
    expect((await node.hub.rooms()).sort()).toEqual(['1', '2', '3'].map((topic) => node.ywebrtc.dialect.roomOf(topic)));
  });

  it('holds publishes while the hub decides a subscribe, bounded by maxPendingBytes (subscribe-pending), then sends them', async () => {
    let allow!: (value: boolean) => void;
    const decided = new Promise<boolean>((resolve) => (allow = resolve));
    const node = await hub({ authorizeJoin: () => decided, maxPendingBytes: 200 });
    const a = await connect(node.url);
    a.send({ type: 'subscribe', topics: ['t'] });
    a.send({ type: 'publish', topic: 't', data: 'x'.repeat(100) });
    a.send({ type: 'publish', topic: 't', data: 'y'.repeat(100) });
    expect(await a.next()).toEqual({
      type: 'error',
      code: 'subscribe-pending',
      message: 'Publish dropped: the subscription is not confirmed yet',
      topic: 't',
    });
    allow(true);
    expect(await a.next()).toEqual({ type: 'publish', topic: 't', data: 'x'.repeat(100), clients: 1 });
    await a.barrier();
    expect(a.inbox.frames).toEqual([]);
  });

  it("asks the hub's authorizeJoin per topic (forbidden), with the topic and the connection's authenticate data", async () => {
    const served: { dialect?: YWebrtcServer['ywebrtc']['dialect'] } = {};
    const node = await hub({
      // A token in the signalling URL's query, checked once per connection.
      authenticate: ({ request, message }) =>
        served.dialect?.ownsLogin({ message }) === true && {
          user: new URL(request?.url ?? '/', 'http://x').searchParams.get('user'),
        },
      authorizeJoin: ({ peer, room }) => {
        const topic = served.dialect!.topicOf(room);
        return topic !== undefined && topic.startsWith(`${(peer.data as { user: string }).user}/`);
      },
    });
    served.dialect = node.ywebrtc.dialect;
    const a = await connect(`${node.url}?user=ann`);
    a.send({ type: 'subscribe', topics: ['bob/doc', 'ann/doc'] });
    expect(await a.next()).toEqual({
      type: 'error',
      code: 'forbidden',
      message: expect.any(String) as string,
      topic: 'bob/doc',
    });
    a.send({ type: 'publish', topic: 'ann/doc', data: 0 });
    expect(await a.next()).toMatchObject({ type: 'publish', topic: 'ann/doc', clients: 1 });
    a.send({ type: 'publish', topic: 'bob/doc', data: 0 });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'not-in-room', topic: 'bob/doc' });
  });

  it('closes with 4401 after an error frame when authenticate refuses the connection', async () => {
    const node = await hub({ authenticate: () => false });
    const a = await connect(node.url);
    expect(await a.closed).toMatchObject({ code: 4401 });
    expect(JSON.parse(a.texts[0]!)).toMatchObject({ type: 'error', code: 'unauthorized' });
  });

  it('closes a frame over maxMessageBytes with 1009, and a flood with 4429', async () => {
    const node = await hub({ maxMessageBytes: 1024, rateLimit: { messagesPerSecond: 1, burst: 2 } });
    const a = await connect(node.url);
    a.send({ type: 'publish', topic: 't', data: 'x'.repeat(2000) });
    expect((await a.closed).code).toBe(CloseCode.MessageTooBig);
    const b = await connect(node.url);
    for (let i = 0; i < 10; i++) b.send({ type: 'ping' });
    expect((await b.closed).code).toBe(CloseCode.TooManyMessages);
    expect(b.texts).toContain('{"type":"pong"}');
    expect(b.inbox.frames.some((frame) => frame.code === 'rate-limited')).toBe(true);
  });
});

describe('y-webrtc over the HTTP fallback of the same path', () => {
  it('carries the dialect too (a client whose WebSocket cannot get through)', async () => {
    const node = await hub();
    const ws = await connect(node.url);
    const http = await HttpClient.connect(`http://127.0.0.1:${node.port}/`);
    try {
      ws.send({ type: 'subscribe', topics: ['t'] });
      await ws.barrier();
      http.send({ type: 'subscribe', topics: ['t'] });
      http.send({ type: 'publish', topic: 't', data: 'over http' });
      const frame = '{"type":"publish","topic":"t","data":"over http","clients":2}';
      expect(await http.next()).toEqual(JSON.parse(frame));
      expect(await ws.next()).toEqual(JSON.parse(frame));
      http.send({ type: 'ping' });
      expect(await http.next()).toEqual({ type: 'pong' });
    } finally {
      http.close(1000);
      await http.closed;
    }
  });
});

describe('y-webrtc: per-address caps', () => {
  it('counts the dialect connections of an address: one over maxConnectionsPerAddress is answered 429', async () => {
    const node = await hub({}, {}, { maxConnectionsPerAddress: 1 });
    const first = await connect(node.url);
    first.send({ type: 'ping' });
    expect(await first.next()).toEqual({ type: 'pong' });
    const status = await new Promise<number | undefined>((resolve) => {
      const second = new WebSocket(node.url);
      // terminate() on a refused upgrade reports an error: nothing to do with it here.
      second.on('error', () => {});
      second.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode);
        second.terminate();
      });
      second.once('open', () => {
        resolve(undefined);
        second.close();
      });
    });
    expect(status).toBe(429);
  });
});
