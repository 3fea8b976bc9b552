import { afterEach, describe, expect, it } from 'vitest';
import type { HubOptions, PeerLeft } from '../../src/index.js';
import type { AttachOptions } from '../../src/ws.js';
import { until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';
import { createRequest, type HttpEvent, RawHttpSession } from './raw-http.js';

describe('the HTTP fallback: limits and session lifetime', () => {
  let served: HubServer | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await served?.close();
    served = undefined;
  });

  async function serve(hubOptions?: HubOptions, attachOptions: AttachOptions = {}): Promise<string> {
    served = await startHubServer(hubOptions, { path: '/', closeTimeout: 100, ...attachOptions });
    return `http://127.0.0.1:${served.port}/`;
  }

  async function httpPeer(base: string, name: string): Promise<RawHttpSession> {
    const session = await RawHttpSession.create(base);
    expect((await session.post([{ type: 'login', name }], 1)).status).toBe(204);
    expect(await session.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true });
    return session;
  }

  function peerLeft(name: string): Promise<PeerLeft> {
    return new Promise((resolve) => {
      const listener = (event: PeerLeft) => {
        if (event.name !== name) return;
        served!.hub.off('peer-left', listener);
        resolve(event);
      };
      served!.hub.on('peer-left', listener);
    });
  }

  /** Polls until the close event comes (bounded); returns its data. */
  async function closeEventOf(session: RawHttpSession): Promise<{ code: number; reason: string }> {
    for (let round = 0; round < 20; round++) {
      const close = (await session.poll()).find((event: HttpEvent) => event.event === 'close');
      if (close !== undefined) return JSON.parse(close.data) as { code: number; reason: string };
    }
    throw new Error('no close event');
  }

  it('answers a frame over maxMessageBytes with message-too-large; a body over maxBodyBytes is 413 and closes with 1009', async () => {
    const base = await serve({ maxMessageBytes: 1024 });
    const alice = await httpPeer(base, 'alice');
    const info = alice.info;
    expect(info.maxBodyBytes).toBe(2 * 1024 + 4096);
    // One byte over the hub's limit, in a body that fits: the hub refuses the frame, the session stays.
    const big = JSON.stringify({ type: 'offer', offer: { sdp: 'x'.repeat(1024) }, name: 'alice' });
    expect(big.length).toBeGreaterThan(1024);
    expect((await alice.post([big], 2)).status).toBe(204);
    expect(await alice.pollFor((frame) => frame.type === 'error')).toMatchObject({ code: 'message-too-large' });
    // The limit counts UTF-8 bytes, as over a WebSocket: 400 "é" are 800 bytes, with the rest over 1024.
    const accented = JSON.stringify({ type: 'offer', offer: { sdp: 'é'.repeat(400) }, name: 'nobody' });
    expect(accented.length).toBeLessThan(1024);
    expect((await alice.post([accented], 3)).status).toBe(204);
    expect(await alice.pollFor((frame) => frame.type === 'error')).toMatchObject({ code: 'peer-not-found' });
    const accentedBig = JSON.stringify({ type: 'offer', offer: { sdp: 'é'.repeat(520) }, name: 'nobody' });
    expect((await alice.post([accentedBig], 4)).status).toBe(204);
    expect(await alice.pollFor((frame) => frame.type === 'error')).toMatchObject({ code: 'message-too-large' });

    // A body past maxBodyBytes, as a frame past maxPayload on a WebSocket: 413 and the session closes with 1009.
    const left = peerLeft('alice');
    const huge = await alice.post(['y'.repeat(info.maxBodyBytes)], 5);
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: 'body-too-large' });
    expect(await left).toMatchObject({ code: 1009 });
    expect(await closeEventOf(alice)).toEqual({ code: 1009, reason: 'message too big' });
    const after = await alice.post([], 6);
    expect(after.status).toBe(410);
    expect(await after.json()).toMatchObject({ error: 'session-closed', code: 1009 });
  });

  it('applies the hub rate limit: rate-limited once, then a close event with 4429', async () => {
    const base = await serve({ rateLimit: { messagesPerSecond: 1, burst: 3 } });
    const alice = await httpPeer(base, 'alice');
    const left = peerLeft('alice');
    const frames = Array.from({ length: 12 }, () => ({ type: 'offer', offer: {}, name: 'nobody' }));
    expect((await alice.post(frames, 2)).status).toBe(204);
    expect(await left).toMatchObject({ code: 4429, reason: 'rate-limited' });
    const events: HttpEvent[] = [];
    while (!events.some((event) => event.event === 'close')) events.push(...(await alice.poll()));
    const errors = events.filter((event) => event.event === 'message').map((event) => JSON.parse(event.data) as { code: string });
    expect(errors.filter((error) => error.code === 'rate-limited')).toHaveLength(1);
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ code: 4429, reason: 'rate limit exceeded' });
    expect((await alice.post([], 3)).status).toBe(410);
  });

  it('loses a session whose client makes no request for sessionTimeout (the hub sees 1006); a waiting poll keeps it', async () => {
    const base = await serve(undefined, { httpFallback: { sessionTimeout: 300, pollTimeout: 700 } });
    const alice = await httpPeer(base, 'alice');
    // A long-poll that waits longer than the session timeout: the client is there all along.
    const started = Date.now();
    expect(await alice.poll()).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(served!.hub.getPeer('alice')).toBeDefined();
    // Then nothing: lost.
    const left = await peerLeft('alice');
    expect(left).toMatchObject({ code: 1006, reason: 'closed' });
    expect(served!.attachment.httpSessions).toBe(0);
    expect((await fetch(alice.url({ poll: 1 }), { headers: alice.headers() })).status).toBe(404);
  });

  it('queues for a client that does not read: relays past maxBufferedBytes get peer-congested, then the slow consumer is closed with 4507', async () => {
    const base = await serve({ maxBufferedBytes: 2000, slowConsumerTimeout: 200 });
    const alice = await httpPeer(base, 'alice');
    const bob = await TestClient.connect(served!.url);
    clients.push(bob);
    await bob.login('bob');
    const offer = { type: 'offer', offer: { sdp: 'z'.repeat(500) }, name: 'alice' };
    for (let n = 0; n < 6; n++) bob.send(offer);
    expect(await bob.next()).toMatchObject({ type: 'error', code: 'peer-congested', target: 'alice' });
    const left = peerLeft('alice');
    await new Promise((resolve) => setTimeout(resolve, 250));
    bob.send(offer);
    expect(await left).toMatchObject({ code: 4507 });
    // What was queued is still delivered, then the close event.
    const events = await alice.poll();
    expect(events.filter((event) => event.event === 'message')).toHaveLength(4);
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ code: 4507 });
  });

  it('refuses sessions past maxSessions, and new sessions of a draining hub, with 503 and Retry-After', async () => {
    const base = await serve(undefined, { httpFallback: { maxSessions: 2 } });
    await RawHttpSession.create(base);
    const second = await RawHttpSession.create(base);
    const refused = await createRequest(base);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ error: 'unavailable' });
    expect((await second.delete()).status).toBe(204);
    const third = await RawHttpSession.create(base);

    const drained = served!.hub.drain({ timeout: 1000 });
    expect((await createRequest(base)).status).toBe(503);
    // The open session is told to go (1001), like a WebSocket.
    const close = (await third.poll()).find((event) => event.event === 'close');
    expect(JSON.parse(close!.data)).toMatchObject({ code: 1001 });
    await drained;
  });

  it('closes every session with 1001 when the attachment closes, ending streams with a close event', async () => {
    const base = await serve(undefined, { closeTimeout: 2000 });
    const alice = await httpPeer(base, 'alice');
    const stream = await alice.stream({ ack: alice.lastId });
    await stream.next((event) => event.event === 'open');
    const bob = await httpPeer(base, 'bob');
    const closing = served!.attachment.close();
    const event = await stream.next((e) => e.event === 'close');
    expect(JSON.parse(event.data)).toEqual({ code: 1001, reason: 'server going away' });
    await stream.ended;
    // A polling client comes for its close event within closeTimeout.
    expect(JSON.parse((await bob.poll()).at(-1)!.data)).toEqual({ code: 1001, reason: 'server going away' });
    await closing;
    expect(served!.hub.size).toBe(0);
    await until(() => served!.attachment.httpSessions === 0, 'sessions gone');
  });
});
