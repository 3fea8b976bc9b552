import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InvalidOptionError } from '../../src/index.js';
import { attach } from '../../src/ws.js';
import { PEERJS_ID, type PeerjsDialect, peerjsDefaults, peerjsPort, resolvePeerjsOptions } from '../../src/peerjs.js';
import { PeerjsWsClient, type PeerjsServer, startPeerjsServer } from './peerjs-server.js';
import { TestClient } from '../helpers/test-client.js';

let server: PeerjsServer | undefined;
const clients: PeerjsWsClient[] = [];

async function start(...args: Parameters<typeof startPeerjsServer>): Promise<PeerjsServer> {
  server = await startPeerjsServer(...args);
  return server;
}

async function open(id: string, token?: string): Promise<PeerjsWsClient> {
  const client = await PeerjsWsClient.open(server!.port, id, token);
  clients.push(client);
  return client;
}

async function connect(query: string): Promise<PeerjsWsClient> {
  const client = await PeerjsWsClient.connect(server!.port, query);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await server?.close();
  server = undefined;
});

const offer = { sdp: 'v=0', type: 'data', connectionId: 'dc_1', label: 'dc_1', reliable: true, serialization: 'binary' };

describe('PeerJS handshake frames', () => {
  it('answers a good query with OPEN, exactly', async () => {
    await start();
    const a = await connect('key=peerjs&id=alice&token=t1&version=1.5.5');
    await a.next((frame) => frame.type === 'OPEN');
    expect(a.texts).toEqual(['{"type":"OPEN"}']);
  });

  it('answers a query without id, token or key with ERROR and closes', async () => {
    await start();
    for (const query of ['key=peerjs&id=a', 'key=peerjs&token=t', 'id=a&token=t', '']) {
      const client = await connect(query);
      const { code } = await client.closed;
      expect(client.texts).toEqual(['{"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}}']);
      expect(code).toBe(1000);
    }
  });

  it('answers another key with ERROR "Invalid key provided"', async () => {
    await start(undefined, { key: 'secret' });
    const client = await connect('key=peerjs&id=a&token=t');
    await client.closed;
    expect(client.texts).toEqual(['{"type":"ERROR","payload":{"msg":"Invalid key provided"}}']);
  });

  it('answers an id PeerJS would not make with ERROR', async () => {
    await start();
    const client = await connect('key=peerjs&id=a%3Ab&token=t');
    await client.closed;
    expect(client.texts).toEqual(['{"type":"ERROR","payload":{"msg":"Invalid id provided"}}']);
  });

  it('answers an id held with another token with ID-TAKEN and closes; the holder is untouched', async () => {
    await start();
    const alice = await open('alice', 'one');
    const bob = await open('bob');
    const thief = await connect('key=peerjs&id=alice&token=two');
    const { code } = await thief.closed;
    expect(thief.texts).toEqual(['{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}']);
    expect(code).toBe(1000);
    bob.send({ type: 'OFFER', dst: 'alice', payload: offer });
    expect(await alice.next()).toEqual({ type: 'OFFER', src: 'bob', dst: 'alice', payload: offer });
  });

  it('lets the same id and token take over a lingering socket, with OPEN, unseen by partners', async () => {
    await start();
    const old = await open('alice', 'same');
    const bob = await open('bob');
    bob.send({ type: 'OFFER', dst: 'alice', payload: offer });
    await old.next((frame) => frame.type === 'OFFER');
    const fresh = await connect('key=peerjs&id=alice&token=same');
    expect(await fresh.next()).toEqual({ type: 'OPEN' });
    expect((await old.closed).code).toBe(4409);
    // The call goes on: bob's next relay reaches the new socket, and bob heard nothing in between.
    bob.send({ type: 'CANDIDATE', dst: 'alice', payload: { candidate: 'c', type: 'data', connectionId: 'dc_1' } });
    expect(await fresh.next()).toMatchObject({ type: 'CANDIDATE', src: 'bob' });
    fresh.send({ type: 'ANSWER', dst: 'bob', payload: { sdp: 'answer' } });
    expect(await bob.next()).toEqual({ type: 'ANSWER', src: 'alice', dst: 'bob', payload: { sdp: 'answer' } });
    expect(bob.inbox.frames).toEqual([]);
  });

  it('refuses past concurrent_limit with its ERROR text', async () => {
    await start(undefined, { concurrent_limit: 1 });
    await open('a');
    const b = await connect('key=peerjs&id=b&token=t');
    await b.closed;
    expect(b.texts).toEqual(['{"type":"ERROR","payload":{"msg":"Server has reached its concurrent user limit"}}']);
  });
});

describe('PeerJS relays', () => {
  it('relays OFFER, ANSWER, CANDIDATE and LEAVE as {type,src,dst,payload} with src set by the server', async () => {
    await start();
    const a = await open('a');
    const b = await open('b');
    a.send({ type: 'OFFER', src: 'mallory', dst: 'b', payload: offer });
    expect(await b.next()).toEqual({ type: 'OFFER', src: 'a', dst: 'b', payload: offer });
    b.send({ type: 'ANSWER', dst: 'a', payload: { sdp: 's', type: 'data', connectionId: 'dc_1' } });
    expect(b.texts.at(-1)).toBe(JSON.stringify({ type: 'OFFER', src: 'a', dst: 'b', payload: offer }));
    const answer = await a.next();
    expect(a.texts.at(-1)).toBe(
      '{"type":"ANSWER","src":"b","dst":"a","payload":{"sdp":"s","type":"data","connectionId":"dc_1"}}',
    );
    expect(answer.type).toBe('ANSWER');
    a.send({ type: 'CANDIDATE', dst: 'b', payload: { candidate: { candidate: 'x' }, type: 'data', connectionId: 'dc_1' } });
    expect(await b.next()).toEqual({
      type: 'CANDIDATE',
      src: 'a',
      dst: 'b',
      payload: { candidate: { candidate: 'x' }, type: 'data', connectionId: 'dc_1' },
    });
    a.send({ type: 'LEAVE', dst: 'b' });
    expect(await b.next()).toEqual({ type: 'LEAVE', src: 'a', dst: 'b', payload: null });
    a.send({ type: 'LEAVE', dst: 'b', payload: { why: 'bye' } });
    expect(await b.next()).toEqual({ type: 'LEAVE', src: 'a', dst: 'b', payload: { why: 'bye' } });
  });

  it('queues messages to an id not connected yet and flushes them, in order, after its OPEN', async () => {
    await start();
    const a = await open('a');
    for (let i = 0; i < 3; i++) a.send({ type: 'CANDIDATE', dst: 'late', payload: { n: i } });
    a.send({ type: 'HEARTBEAT' });
    // A barrier: a's frames are handled in order, so the three are queued once b answers.
    const b = await open('b');
    a.send({ type: 'OFFER', dst: 'b', payload: 'sentinel' });
    await b.next();
    const late = await PeerjsWsClient.connect(server!.port, 'key=peerjs&id=late&token=t');
    clients.push(late);
    for (const expected of [{ type: 'OPEN' }, 0, 1, 2]) {
      const frame = await late.next();
      if (typeof expected === 'number')
        expect(frame).toEqual({ type: 'CANDIDATE', src: 'a', dst: 'late', payload: { n: expected } });
      else expect(frame).toEqual(expected);
    }
  });

  it('sends one EXPIRE per (src, dst) after expire_timeout', async () => {
    await start(undefined, { expire_timeout: 200, cleanup_out_msgs: 50 });
    const a = await open('a');
    for (let i = 0; i < 3; i++) a.send({ type: 'CANDIDATE', dst: 'ghost', payload: { n: i } });
    a.send({ type: 'OFFER', dst: 'other', payload: 1 });
    const expires = [await a.next(), await a.next()];
    expect(expires).toEqual(
      expect.arrayContaining([
        { type: 'EXPIRE', src: 'ghost', dst: 'a' },
        { type: 'EXPIRE', src: 'other', dst: 'a' },
      ]),
    );
    // Nothing more for ghost: a later message to it expires on its own.
    a.send({ type: 'OFFER', dst: 'ghost', payload: 2 });
    expect(await a.next()).toEqual({ type: 'EXPIRE', src: 'ghost', dst: 'a' });
    expect(a.inbox.frames).toEqual([]);
  });

  it('bounds the queue per destination: past maxQueuedPerPeer the sender gets EXPIRE at once', async () => {
    await start(undefined, { maxQueuedPerPeer: 2, expire_timeout: 60000 });
    const a = await open('a');
    for (let i = 0; i < 3; i++) a.send({ type: 'CANDIDATE', dst: 'ghost', payload: { n: i } });
    expect(await a.next()).toEqual({ type: 'EXPIRE', src: 'ghost', dst: 'a' });
    expect(server!.peerjs.dialect.queuedBytes).toBeGreaterThan(0);
  });

  it('keeps PeerJS ids and classic names apart', async () => {
    await start(undefined, { expire_timeout: 200, cleanup_out_msgs: 50 });
    const attachment = attach(server!.hub, server!.server, { path: '/classic' });
    try {
      const a = await open('a');
      const classic = await TestClient.connect(`ws://127.0.0.1:${server!.port}/classic`);
      await classic.login('carol');
      // The internal name of `a` is peerjs:peerjs:a; a classic client reaching for it is not let through.
      classic.send({ type: 'offer', name: 'peerjs:peerjs:a', offer: { sdp: 'x' } });
      a.send({ type: 'OFFER', dst: 'carol', payload: 'to a classic name' });
      // `carol` as a PeerJS id is nobody: the message waits for such an id and expires.
      expect(await a.next()).toEqual({ type: 'EXPIRE', src: 'carol', dst: 'a' });
      const b = await open('b');
      b.send({ type: 'OFFER', dst: 'a', payload: 'sentinel' });
      expect(await a.next()).toMatchObject({ type: 'OFFER', src: 'b', payload: 'sentinel' });
      expect(a.inbox.frames).toEqual([]);
      expect(server!.hub.getPeer('peerjs:peerjs:a')).toBeDefined();
      classic.close();
    } finally {
      await attachment.close();
    }
  });
});

describe('PeerJS ids and classic names', () => {
  it("lets a host keep classic clients off PeerJS names with the dialect's ownsLogin", async () => {
    // The hub comes first, its dialect after: the hook finds the dialect when a login comes.
    const late: { dialect?: PeerjsDialect } = {};
    await start({ authenticate: (context) => !context.name.startsWith('peerjs:') || late.dialect!.ownsLogin(context) });
    late.dialect = server!.peerjs.dialect;
    const attachment = attach(server!.hub, server!.server, { path: '/classic' });
    try {
      const classic = await TestClient.connect(`ws://127.0.0.1:${server!.port}/classic`);
      expect(await classic.login('peerjs:peerjs:a')).toMatchObject({ success: false, reason: 'unauthorized' });
      expect(await classic.login('carol')).toMatchObject({ success: true });
      await open('a');
      classic.close();
    } finally {
      await attachment.close();
    }
  });
});

describe('PeerJS and the host', () => {
  it("passes the host's own messages (hub.send) to a PeerJS peer as they are, but never as its login", async () => {
    await start();
    const a = await open('a', 'mine');
    expect(await server!.hub.send('peerjs:peerjs:a', { type: 'NOTICE', text: 'maintenance at noon' })).toBe(true);
    expect(await a.next()).toEqual({ type: 'NOTICE', text: 'maintenance at noon' });
    expect(await server!.hub.send('peerjs:peerjs:a', { type: 'login', success: true, token: 'forged' })).toBe(true);
    // The take-over still uses the hub's real token: the forged one was not taken for it.
    const fresh = await connect('key=peerjs&id=a&token=mine');
    expect(await fresh.next()).toEqual({ type: 'OPEN' });
    expect((await a.closed).code).toBe(4409);
  });
});

describe('PeerJS bad input', () => {
  it('answers bad JSON, non-objects, missing type and bad dst with ERROR, keeps the socket, ignores unknown types', async () => {
    await start();
    const a = await open('a');
    const b = await open('b');
    a.send('{not json');
    expect(await a.next()).toEqual({ type: 'ERROR', payload: { msg: 'Invalid message: not JSON' } });
    a.send('[1,2]');
    expect(await a.next()).toEqual({ type: 'ERROR', payload: { msg: 'Invalid message: not a JSON object' } });
    a.send({ dst: 'b' });
    expect(await a.next()).toEqual({ type: 'ERROR', payload: { msg: 'Invalid message: no type' } });
    a.send({ type: 'OFFER', payload: {} });
    expect(await a.next()).toEqual({ type: 'ERROR', payload: { msg: 'Invalid message: OFFER needs a dst that is a PeerJS id' } });
    a.send({ type: 'OFFER', dst: { x: 1 }, payload: {} });
    expect((await a.next()).type).toBe('ERROR');
    a.send({ type: 'toString', dst: 'b' });
    a.send({ type: 'SOMETHING-NEW', dst: 'b', payload: 1 });
    a.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await a.next()).toEqual({ type: 'ERROR', payload: { msg: 'Invalid message: binary frames are not supported' } });
    a.send({ type: 'OFFER', dst: 'b', payload: 'sentinel' });
    expect(await b.next()).toEqual({ type: 'OFFER', src: 'a', dst: 'b', payload: 'sentinel' });
    expect(b.inbox.frames).toEqual([]);
  });

  it('closes a frame over maxMessageBytes with 1009, and the hub goes on', async () => {
    await start({ maxMessageBytes: 4096 });
    const a = await open('a');
    a.send({ type: 'OFFER', dst: 'b', payload: 'x'.repeat(5000) });
    expect((await a.closed).code).toBe(1009);
    await open('a');
  });

  it("applies the hub's rate limit to every PeerJS frame: a flood is closed with 4429", async () => {
    await start({ rateLimit: { messagesPerSecond: 1, burst: 5 } });
    const a = await open('a');
    for (let i = 0; i < 20; i++) a.send({ type: 'CANDIDATE', dst: 'elsewhere', payload: i });
    expect((await a.closed).code).toBe(4429);
  });

  it('closes a socket silent for alive_timeout; HEARTBEAT keeps one alive', async () => {
    await start(undefined, { alive_timeout: 300 });
    const silent = await open('silent');
    const chatty = await open('chatty');
    const beat = setInterval(() => chatty.send({ type: 'HEARTBEAT' }), 50);
    try {
      const { code, reason } = await silent.closed;
      expect([code, reason]).toEqual([1000, 'no heartbeat']);
      // Opened with the silent one, the chatty one is as old: past the timeout, it still relays.
      const other = await open('other');
      other.send({ type: 'OFFER', dst: 'chatty', payload: 1 });
      expect(await chatty.next()).toMatchObject({ type: 'OFFER', src: 'other' });
    } finally {
      clearInterval(beat);
    }
  });

  it('frees the id at once when a socket closes, as peerjs-server does', async () => {
    await start();
    const a = await open('a', 'first');
    await a.close();
    await open('a', 'second');
  });
});

describe('PeerJS HTTP routes', () => {
  it('serves app info, a fresh id, and peers only with discovery; checks the key', async () => {
    await start(undefined, { path: '/myapp', key: 'k1', generateClientId: () => 'fresh-id' });
    const base = `${server!.origin}/myapp`;
    const info = await fetch(`${base}/`);
    expect(info.headers.get('access-control-allow-origin')).toBe('*');
    expect(await info.json()).toEqual({
      name: 'PeerJS Server',
      description: 'A server side element to broker connections between PeerJS clients.',
      website: 'https://peerjs.com/',
    });
    expect((await fetch(base)).status).toBe(200);
    const id = await fetch(`${base}/k1/id?ts=1&version=1.5.5`);
    expect([id.status, await id.text()]).toEqual([200, 'fresh-id']);
    expect((await fetch(`${base}/wrong/id`)).status).toBe(401);
    expect((await fetch(`${base}/k1/peers`)).status).toBe(401);
    expect((await fetch(`${base}/k1/id`, { method: 'POST' })).status).toBe(405);
    expect(await (await fetch(`${server!.origin}/elsewhere`)).text()).toBe('host app');
    expect(await (await fetch(`${base}/k1/other`)).text()).toBe('host app');
  });

  it('leaves requests and upgrades to the host once closed', async () => {
    await start();
    await server!.peerjs.close();
    expect(await (await fetch(`${server!.origin}/peerjs/id`)).text()).toBe('host app');
    expect(await (await fetch(`${server!.origin}/`)).text()).toBe('host app');
    await expect(PeerjsWsClient.connect(server!.port, 'key=peerjs&id=a&token=t')).rejects.toThrow(/Unexpected server response/);
  });

  it('lists the ids online with allow_discovery', async () => {
    await start(undefined, { allow_discovery: true });
    await open('a');
    await open('b');
    const peers = await fetch(`${server!.origin}/peerjs/peers`);
    expect(((await peers.json()) as string[]).sort()).toEqual(['a', 'b']);
    const id = await (await fetch(`${server!.origin}/peerjs/id`)).text();
    expect(PEERJS_ID.test(id)).toBe(true);
  });
});

describe('PeerJS options', () => {
  it('has frozen defaults named as peerjs-server names them', () => {
    expect(Object.isFrozen(peerjsDefaults)).toBe(true);
    expect(peerjsDefaults).toMatchObject({
      key: 'peerjs',
      path: '/',
      alive_timeout: 60000,
      expire_timeout: 5000,
      concurrent_limit: 5000,
      allow_discovery: false,
    });
    expect(resolvePeerjsOptions({ path: 'myapp' }).path).toBe('/myapp/');
  });

  it('refuses unknown options with a suggestion, and bad values', () => {
    expect(() => resolvePeerjsOptions({ alive_timeot: 1 })).toThrow(/did you mean alive_timeout/);
    expect(() => resolvePeerjsOptions({ key: 'a:b' })).toThrow(InvalidOptionError);
    expect(() => resolvePeerjsOptions({ concurrent_limit: 0 })).toThrow(InvalidOptionError);
    expect(() => resolvePeerjsOptions({ generateClientId: 'x' })).toThrow(InvalidOptionError);
    expect(() => peerjsPort({} as never)).toThrow(InvalidOptionError);
  });

  it('is found by attach() through its adapterPort and speaks PeerJS on any path', async () => {
    await start();
    const dialect = peerjsPort(server!.hub, { key: 'other' });
    const attachment = attach(dialect, server!.server, { path: '/custom' });
    try {
      const socket = new WebSocket(`ws://127.0.0.1:${server!.port}/custom?key=other&id=z&token=t`);
      const first = await new Promise<string>((resolve, reject) =>
        socket.once('message', (data) => resolve((data as Buffer).toString())).once('error', reject),
      );
      expect(first).toBe('{"type":"OPEN"}');
      expect(server!.hub.getPeer('peerjs:other:z')).toBeDefined();
      socket.terminate();
    } finally {
      await attachment.close();
      dialect.close();
    }
  });
});
