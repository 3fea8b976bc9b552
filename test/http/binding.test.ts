import { afterEach, describe, expect, it } from 'vitest';
import type { PeerLeft } from '../../src/index.js';
import type { AttachOptions } from '../../src/ws.js';
import type { HubOptions } from '../../src/index.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/events.js';
import { createRequest, type Frame, RawHttpSession } from './raw-http.js';

describe('the HTTP fallback binding, request by request', () => {
  let served: HubServer | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await served?.close();
    served = undefined;
  });

  async function serve(hubOptions?: HubOptions, attachOptions: AttachOptions = {}): Promise<string> {
    // closeTimeout: how long close() waits for sessions without a reader to come for their close event.
    served = await startHubServer(hubOptions, { path: '/signalling', closeTimeout: 100, ...attachOptions });
    return `http://127.0.0.1:${served.port}/signalling`;
  }

  async function wsPeer(name: string): Promise<TestClient> {
    const client = await TestClient.connect(served!.url);
    clients.push(client);
    expect(await client.login(name)).toMatchObject({ success: true });
    return client;
  }

  /** A session logged in as `name` (seq 1 is the login). */
  async function httpPeer(base: string, name: string): Promise<RawHttpSession> {
    const session = await RawHttpSession.create(base);
    expect((await session.post([{ type: 'login', name }], 1)).status).toBe(204);
    expect(await session.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true, name });
    return session;
  }

  it('creates a session with 201, its id, secret and limits; the rest of the path stays the host’s', async () => {
    const base = await serve();
    // Without transport=http the request is the host app's, on the very same path.
    expect(await (await fetch(base)).text()).toBe('host app');
    expect(await (await fetch(base, { method: 'POST', body: 'x' })).text()).toBe('host app');
    expect(await (await fetch(`${base}?transport=ws`)).text()).toBe('host app');

    const response = await createRequest(base);
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const info = (await response.json()) as Record<string, unknown>;
    expect(info).toEqual({
      session: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      heartbeat: 30000,
      timeout: 60000,
      pollTimeout: 25000,
      maxBodyBytes: 2 * 65536 + 4096,
    });
    expect(served!.attachment.httpSessions).toBe(1);
    expect(served!.hub.stats().connections).toBe(1);
    // Ids and secrets are random per session.
    const other = (await (await createRequest(base)).json()) as Record<string, unknown>;
    expect(other.session).not.toBe(info.session);
    expect(other.secret).not.toBe(info.secret);
    // Requests of the fallback that name no session, other than the POST that creates one, are refused.
    expect((await fetch(`${base}?transport=http`)).status).toBe(400);
    expect((await fetch(`${base}?transport=http`, { method: 'DELETE' })).status).toBe(400);
    expect((await fetch(`${base}?transport=http&session=x`, { method: 'PUT' })).status).toBe(404);
  });

  it('carries a conversation over long-polling with a WebSocket peer: login, offer, answer, candidate, leave, errors', async () => {
    const base = await serve();
    const alice = await httpPeer(base, 'alice');
    const bob = await wsPeer('bob');
    expect(served!.hub.getPeer('alice')).toMatchObject({ name: 'alice', remoteAddress: '127.0.0.1' });

    expect((await alice.post([{ type: 'offer', offer: { type: 'offer', sdp: 'o' }, name: 'bob' }], 2)).status).toBe(204);
    expect(await bob.next()).toEqual({ type: 'offer', offer: { type: 'offer', sdp: 'o' }, name: 'alice' });
    bob.send({ type: 'answer', answer: { type: 'answer', sdp: 'a' }, name: 'alice' });
    expect(await alice.pollFor((frame) => frame.type === 'answer')).toEqual({
      type: 'answer',
      answer: { type: 'answer', sdp: 'a' },
      name: 'bob',
    });
    // Several frames in one POST, handed over in order.
    const candidates = [1, 2, 3].map((n) => ({ type: 'candidate', candidate: { candidate: `c${n}` }, name: 'bob' }));
    expect((await alice.post(candidates, 3)).status).toBe(204);
    for (const n of [1, 2, 3]) expect(await bob.next()).toMatchObject({ type: 'candidate', candidate: { candidate: `c${n}` } });
    bob.send({ type: 'candidate', candidate: null, name: 'alice' });
    expect(await alice.pollFor((frame) => frame.type === 'candidate')).toEqual({
      type: 'candidate',
      candidate: null,
      name: 'bob',
    });

    // Bad input gets the same errors as over a WebSocket, and the session stays usable.
    expect((await alice.post(['not json', { type: 'dance' }, { type: 'offer', offer: {}, name: 'nobody' }], 4)).status).toBe(204);
    const errors: Frame[] = [];
    while (errors.length < 3) {
      for (const event of await alice.poll()) errors.push(JSON.parse(event.data) as Frame);
    }
    expect(errors).toEqual([
      expect.objectContaining({ type: 'error', code: 'invalid-json' }),
      expect.objectContaining({ type: 'error', code: 'unknown-type', message: 'Command not found: dance' }),
      expect.objectContaining({ type: 'error', code: 'peer-not-found', target: 'nobody' }),
    ]);
    // A second login under another name on the same session is refused, as on a WebSocket.
    expect((await alice.post([{ type: 'login', name: 'other' }], 5)).status).toBe(204);
    expect(await alice.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: false, reason: 'already-logged-in' });

    expect((await alice.post([{ type: 'leave', name: 'bob' }], 6)).status).toBe(204);
    expect(await bob.next()).toEqual({ type: 'leave', name: 'alice' });
    // Event ids count up from 1 without gaps.
    expect(alice.events.map((event) => event.id)).toEqual(alice.events.map((_, index) => index + 1));
  });

  it('streams Server-Sent Events: open first, ids, heartbeat comments, no buffering; a new stream resumes after the last id', async () => {
    const base = await serve(undefined, { heartbeatInterval: 100 });
    const alice = await httpPeer(base, 'alice');
    const bob = await wsPeer('bob');
    // Without an ack, a stream starts with what the client has not acknowledged: the login reply again.
    const unacked = await alice.stream();
    expect(await unacked.frame((frame) => frame.type === 'login')).toMatchObject({ success: true });
    expect(unacked.events.map((event) => event.id)).toEqual([undefined, 1]);
    await unacked.close();
    const stream = await alice.stream({ ack: 1 });
    expect(stream.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
    expect(stream.response.headers.get('cache-control')).toContain('no-cache');
    expect(await stream.next((event) => event.event === 'open')).toEqual({
      id: undefined,
      event: 'open',
      data: '{"heartbeat":100}',
    });

    // A relay whose payload holds a line break (JSON whitespace) arrives whole, over several data lines.
    bob.socket.send('{"type":"offer","name":"alice","offer":{"type":"offer",\n"sdp":"v=0\\r\\n"}}');
    expect(await stream.frame((frame) => frame.type === 'offer')).toEqual({
      type: 'offer',
      offer: { type: 'offer', sdp: 'v=0\r\n' },
      name: 'bob',
    });
    const offerId = stream.events.find((event) => event.event === 'message')!.id!;
    expect(offerId).toBe(2); // 1 was the login reply, fetched by a poll
    // Heartbeats keep the stream (and the proxies on the way) alive.
    await until(() => stream.comments >= 2, 'two heartbeats on the stream');
    await stream.close();

    // While no stream is open, frames wait for the client.
    for (const n of [1, 2]) bob.send({ type: 'candidate', candidate: { candidate: `c${n}` }, name: 'alice' });
    // Barrier: the hub handles bob's frames in order, so once this one is answered both are queued for alice.
    expect(await bob.request({ type: 'candidate', candidate: {}, name: 'nobody' })).toMatchObject({ code: 'peer-not-found' });
    // A stream that has event 2 (Last-Event-ID, as EventSource sends it) gets 3 and 4.
    const second = await alice.stream({ lastEventId: 2 });
    const c2 = await second.frame((frame) => (frame.candidate as { candidate: string } | undefined)?.candidate === 'c2');
    expect(c2).toMatchObject({ type: 'candidate', name: 'bob' });
    expect(second.events.filter((event) => event.event === 'message').map((event) => event.id)).toEqual([3, 4]);
    await second.close();
    // Nothing acknowledged 3 and 4 since: a stream that has only 3 (ack in the query) gets 4 again, not 3.
    const third = await alice.stream({ ack: 3 });
    await third.frame(() => true);
    expect(third.events.filter((event) => event.event === 'message').map((event) => event.id)).toEqual([4]);
    // A second stream replaces the first, which ends.
    const fourth = await alice.stream({ ack: 4 });
    await third.ended;
    bob.send({ type: 'leave', name: 'alice' });
    expect(await fourth.frame(() => true)).toEqual({ type: 'leave', name: 'bob' });
    await fourth.close();
  });

  it('hands frames to the hub in seq order whatever order the POSTs arrive in, a repeated seq once, one too far ahead never', async () => {
    const base = await serve();
    const alice = await httpPeer(base, 'alice');
    const bob = await wsPeer('bob');
    const candidate = (n: number) => ({ type: 'candidate', candidate: { candidate: `c${n}` }, name: 'bob' });

    // 4 and 3 wait for 2 (202 Accepted); 2 releases all three.
    expect((await alice.post([candidate(4)], 4)).status).toBe(202);
    expect((await alice.post([candidate(3)], 3)).status).toBe(202);
    expect(bob.inbox).toEqual([]);
    expect((await alice.post([candidate(2)], 2)).status).toBe(204);
    for (const n of [2, 3, 4]) expect(await bob.next()).toMatchObject({ candidate: { candidate: `c${n}` } });

    // A retried POST (its answer was lost) is not delivered again.
    expect((await alice.post([candidate(3)], 3)).status).toBe(204);
    expect((await alice.post([candidate(4)], 4)).status).toBe(204);
    // Held twice before its turn: kept once.
    expect((await alice.post([candidate(6)], 6)).status).toBe(202);
    expect((await alice.post([candidate(6)], 6)).status).toBe(204);
    expect((await alice.post([candidate(5)], 5)).status).toBe(204);
    expect(await bob.next()).toMatchObject({ candidate: { candidate: 'c5' } });
    expect(await bob.next()).toMatchObject({ candidate: { candidate: 'c6' } });

    // Beyond the reorder window (16 POSTs ahead of the next one expected, 7): refused, not held.
    const far = await alice.post([candidate(99)], 7 + 16);
    expect(far.status).toBe(409);
    expect(await far.json()).toMatchObject({ error: 'out-of-window' });
    expect((await alice.post([candidate(22)], 7 + 15)).status).toBe(202);

    // Bad seq values and bodies are refused before anything reaches the hub.
    for (const seq of ['0', '-1', '1.5', 'x', '99999999999999999']) {
      const response = await fetch(alice.url({ seq }), { method: 'POST', headers: alice.headers(), body: '[]' });
      expect(response.status).toBe(400);
    }
    for (const body of ['{"type":"login"}', '[1]', '["a",null]', 'nope']) {
      expect((await alice.post([], 7, { body })).status).toBe(400);
    }
    // Frames without a seq are refused; an empty POST without one is a ping.
    expect((await alice.post([candidate(7)], undefined)).status).toBe(400);
    expect((await alice.post([], undefined)).status).toBe(204);
    expect((await alice.post([candidate(7)], 7)).status).toBe(204);
    expect(await bob.next()).toMatchObject({ candidate: { candidate: 'c7' } });
    expect(bob.inbox).toEqual([]);
  });

  it('refuses a request with a wrong secret (403) and delivers nothing; an unknown session is 404', async () => {
    const base = await serve();
    const alice = await httpPeer(base, 'alice');
    const bob = await wsPeer('bob');
    const mallory = await RawHttpSession.create(base);
    const offer = { type: 'offer', offer: { sdp: 'evil' }, name: 'bob' };

    // Knowing alice's id is not enough: her secret is needed, and mallory's own does not do.
    for (const secret of [mallory.info.secret, '', 'x'.repeat(43), alice.info.secret.slice(0, -1)]) {
      const response = await alice.post([offer], 2, { secret });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden' });
    }
    const withoutHeader = await fetch(alice.url({ seq: 2 }), { method: 'POST', body: JSON.stringify([JSON.stringify(offer)]) });
    expect(withoutHeader.status).toBe(403);
    bob.send({ type: 'offer', offer: { sdp: 'for alice' }, name: 'alice' });
    // Barrier: once this is answered, the offer before it is queued for alice.
    expect(await bob.request({ type: 'candidate', candidate: {}, name: 'nobody' })).toMatchObject({ code: 'peer-not-found' });
    // Mallory cannot read alice's frames, nor end her session.
    expect((await fetch(alice.url({ poll: 1, ack: 0 }), { headers: alice.headers(mallory.info.secret) })).status).toBe(403);
    const stolenStream = await fetch(alice.url(), { headers: { ...alice.headers('bad'), accept: 'text/event-stream' } });
    expect(stolenStream.status).toBe(403);
    expect((await alice.delete({}, mallory.info.secret)).status).toBe(403);
    expect((await alice.delete({}, '')).status).toBe(403);
    // Unknown and malformed ids: 404, with or without a secret.
    expect(
      (await fetch(mallory.url({ poll: 1 }).replace(mallory.id, 'A'.repeat(22)), { headers: mallory.headers() })).status,
    ).toBe(404);
    expect((await fetch(mallory.url({ poll: 1 }).replace(mallory.id, '../x'), { headers: mallory.headers() })).status).toBe(404);

    // Alice's seq 2 is still free and her frame still waits for her: nothing of mallory's went through.
    expect((await alice.post([{ type: 'offer', offer: { sdp: 'real' }, name: 'bob' }], 2)).status).toBe(204);
    expect(await bob.next()).toEqual({ type: 'offer', offer: { sdp: 'real' }, name: 'alice' });
    expect(bob.inbox).toEqual([]);
    expect(await alice.pollFor((frame) => frame.type === 'offer')).toEqual({
      type: 'offer',
      offer: { sdp: 'for alice' },
      name: 'bob',
    });
    expect(served!.hub.getPeer('alice')).toBeDefined();
  });

  it('ends a session with DELETE as a clean goodbye (1000): partners hear leave, later requests get 404', async () => {
    const base = await serve();
    const alice = await httpPeer(base, 'alice');
    const bob = await wsPeer('bob');
    expect((await alice.post([{ type: 'offer', offer: {}, name: 'bob' }], 2)).status).toBe(204);
    await bob.next();
    const left = new Promise<PeerLeft>((resolve) => served!.hub.once('peer-left', resolve));
    const response = await alice.delete({ code: 1000 });
    expect(response.status).toBe(204);
    expect(await left).toMatchObject({ name: 'alice', code: 1000, reason: 'closed' });
    expect(await bob.next()).toEqual({ type: 'leave', name: 'alice' });
    expect((await alice.post([], 3)).status).toBe(404);
    expect((await fetch(alice.url({ poll: 1 }), { headers: alice.headers() })).status).toBe(404);
    expect(served!.attachment.httpSessions).toBe(0);
    // A goodbye code of the client's own (3000–4999) or 1001 (a page going away) reaches the hub; others are refused.
    const carol = await httpPeer(base, 'carol');
    expect((await carol.delete({ code: 1002 })).status).toBe(400);
    expect((await carol.delete({ code: 2999 })).status).toBe(400);
    const carolLeft = new Promise<PeerLeft>((resolve) => served!.hub.once('peer-left', resolve));
    expect((await carol.delete({ code: 4000 })).status).toBe(204);
    expect(await carolLeft).toMatchObject({ name: 'carol', code: 4000 });
    // No code: as a close frame without one, the hub hears 1005.
    const dave = await httpPeer(base, 'dave');
    const daveLeft = new Promise<PeerLeft>((resolve) => served!.hub.once('peer-left', resolve));
    expect((await dave.delete()).status).toBe(204);
    expect(await daveLeft).toMatchObject({ name: 'dave', code: 1005 });
  });
});
