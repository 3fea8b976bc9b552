import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type CloseEvent, type DroppedEvent, SignallingClient, type SignallingClientOptions } from '../../src/client.js';
import type { HubOptions } from '../../src/index.js';
import { nextEvent, until } from '../helpers/events.js';
import { startHubServer } from '../helpers/hub-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** A hub that allows 50 messages per second with bursts of 50: a twentieth of the default. */
const smallRateLimit: HubOptions = { rateLimit: { messagesPerSecond: 50, burst: 50 } };

const candidate = (index: number) => ({
  candidate: `candidate:${index} 1 udp 1 127.0.0.1 ${5000 + index} typ host`,
  sdpMid: '0',
});

/** What bob received, in order, as short labels: `offer:<sdp>`, `candidate:<n>`, `answer:<sdp>`. */
function record(client: SignallingClient): string[] {
  const received: string[] = [];
  client.on('offer', ({ offer }) => received.push(`offer:${offer.sdp}`));
  client.on('answer', ({ answer }) => received.push(`answer:${answer.sdp}`));
  client.on('candidate', ({ candidate: c }) => received.push(`candidate:${/^candidate:(\d+)/.exec(c!.candidate!)![1]}`));
  return received;
}

describe('SignallingClient outbox: bounded, paced, and a replay that trips the rate limit does not lose the session', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A hub, a proxy in front of it for alice (so her side can be cut), and bob connected directly. */
  async function setUp(hubOptions: HubOptions, aliceOptions: SignallingClientOptions) {
    const server = await startHubServer(hubOptions);
    cleanups.push(() => server.close());
    const proxy: TcpProxy = await startTcpProxy(server.port);
    cleanups.push(() => proxy.close());
    const alice = new SignallingClient(`ws://127.0.0.1:${proxy.port}/`, {
      WebSocket,
      reconnectDelay: 50,
      maxReconnectDelay: 200,
      ...aliceOptions,
    });
    const bob = new SignallingClient(server.url, { WebSocket });
    cleanups.push(
      () => alice.close(),
      () => bob.close(),
    );
    await Promise.all([alice.login('alice'), bob.login('bob')]);
    const closes: CloseEvent[] = [];
    const dropped: DroppedEvent[] = [];
    const hubErrors: string[] = [];
    alice.on('close', (event) => closes.push(event));
    alice.on('dropped', (event) => dropped.push(event));
    alice.on('error', (error) => hubErrors.push(error.code));
    return { hub: server.hub, proxy, alice, bob, closes, dropped, hubErrors };
  }

  it('keeps at most maxOutboxMessages while reconnecting, dropping held candidates first, and replays them in order within the hub rate', async () => {
    const { hub, proxy, alice, bob, closes, dropped, hubErrors } = await setUp(smallRateLimit, {
      maxOutboxMessages: 100,
      // Under the hub's 50/s with bursts of 50 (the login takes one of them).
      sendRate: { messagesPerSecond: 40, burst: 40 },
    });
    const received = record(bob);

    proxy.cut();
    await nextEvent(alice, 'reconnecting');
    expect(alice.state).toBe('reconnecting');
    // An offer, 300 candidates and an answer: 302 relays for an outbox of 100.
    alice.offer('bob', { type: 'offer', sdp: 'first' });
    for (let i = 0; i < 300; i++) alice.candidate('bob', candidate(i));
    alice.answer('bob', { type: 'answer', sdp: 'last' });
    // The 202 oldest candidates made room; the offer and the answer were kept.
    expect(dropped).toHaveLength(202);
    expect(dropped.every((event) => event.type === 'candidate' && event.to === 'bob')).toBe(true);

    const expected = ['offer:first', ...Array.from({ length: 98 }, (_, i) => `candidate:${202 + i}`), 'answer:last'];
    await until(() => received.length >= expected.length, 'bob to receive the held relays', 15_000);
    expect(received).toEqual(expected);
    // No session loss: one loss (the cut), logged in again, never rate-limited by the hub.
    expect(closes).toEqual([expect.objectContaining({ code: 1006, reconnecting: true })]);
    expect(alice.state).toBe('logged-in');
    expect(hub.getPeer('alice')).toBeDefined();
    expect(hubErrors).toEqual([]);
  });

  it('bounds the outbox in UTF-8 bytes too: candidates go first, then the oldest relays; an oversized one goes alone', async () => {
    const { proxy, alice, bob, dropped } = await setUp({}, { maxOutboxBytes: 35_000 });
    const received = record(bob);
    proxy.cut();
    await nextEvent(alice, 'reconnecting');
    // 5000 × "é" is 10,000 bytes in UTF-8 (5,000 UTF-16 units): four such offers do not fit in 35,000 bytes.
    const sdp = (n: number) => `${n}${'é'.repeat(5000)}`;
    alice.candidate('bob', candidate(1));
    alice.offer('bob', { type: 'offer', sdp: sdp(1) });
    alice.candidate('bob', candidate(2));
    alice.offer('bob', { type: 'offer', sdp: sdp(2) });
    alice.offer('bob', { type: 'offer', sdp: sdp(3) });
    expect(dropped).toEqual([]);
    alice.offer('bob', { type: 'offer', sdp: sdp(4) });
    expect(dropped).toEqual([
      { type: 'candidate', to: 'bob' },
      { type: 'candidate', to: 'bob' },
      { type: 'offer', to: 'bob' },
    ]);
    // A relay larger than the whole outbox is dropped alone; the held ones stay.
    alice.offer('bob', { type: 'offer', sdp: 'x'.repeat(40_000) });
    expect(dropped).toHaveLength(4);
    expect(dropped[3]).toEqual({ type: 'offer', to: 'bob' });
    await until(() => received.length >= 3, 'bob to receive the held offers');
    // A barrier: a sentinel relay after them, through the same path; once it is in, nothing held can still come.
    alice.answer('bob', { type: 'answer', sdp: 'sentinel' });
    await until(() => received.includes('answer:sentinel'), 'bob to receive the sentinel');
    expect(received).toEqual([`offer:${sdp(2)}`, `offer:${sdp(3)}`, `offer:${sdp(4)}`, 'answer:sentinel']);
  });

  it('reconnects after a 4429 caused by its own replay, and the session goes on', async () => {
    // The default pace (100/s, bursts of 200) is far above this hub's limit: the replay's first burst of 200
    // trips it (the hub closes after about 100). What is left fits in the next connection's burst.
    const { hub, proxy, alice, bob, closes } = await setUp(smallRateLimit, {});
    const received = record(bob);
    proxy.cut();
    await nextEvent(alice, 'reconnecting');
    for (let i = 0; i < 220; i++) alice.candidate('bob', candidate(i));

    await until(() => closes.some((event) => event.code === 4429), 'the hub to close alice with 4429', 10_000);
    expect(closes.find((event) => event.code === 4429)).toMatchObject({ reconnecting: true });
    await until(() => alice.state === 'logged-in', 'alice to log in again', 10_000);
    // The session is alive: a new relay goes through, after what was held, in order. (Held relays sent on the
    // connection between the hub's decision and the client seeing the close are lost with it.)
    alice.offer('bob', { type: 'offer', sdp: 'still here' });
    await until(() => received.includes('offer:still here'), 'the offer after the replay', 10_000);
    expect(received.at(-1)).toBe('offer:still here');
    const numbers = received.slice(0, -1).map((label) => Number(/^candidate:(\d+)$/.exec(label)![1]));
    expect(numbers.length).toBeGreaterThanOrEqual(49);
    expect(numbers).toEqual([...new Set(numbers)].sort((a, b) => a - b));
    expect(closes.every((event) => event.reconnecting)).toBe(true);
    expect(alice.state).toBe('logged-in');
    expect(hub.getPeer('alice')).toBeDefined();
  });

  it('still treats a 4429 as final when the client floods outside a replay', async () => {
    const { alice, closes } = await setUp(smallRateLimit, { sendRate: false });
    for (let i = 0; i < 200; i++) alice.candidate('bob', candidate(i));
    await until(() => alice.state === 'closed', 'alice to be closed');
    expect(closes).toEqual([expect.objectContaining({ code: 4429, reconnecting: false })]);
  });

  it('paces relays sent while logged in to sendRate, in order', async () => {
    const { alice, bob, dropped, hubErrors, closes } = await setUp(smallRateLimit, {
      sendRate: { messagesPerSecond: 40, burst: 20 },
    });
    const received = record(bob);
    // 120 relays at once from a logged-in client: without pacing the hub would drop most and close it.
    for (let i = 0; i < 120; i++) alice.candidate('bob', candidate(i));
    await until(() => received.length >= 120, 'bob to receive every relay', 15_000);
    expect(received).toEqual(Array.from({ length: 120 }, (_, i) => `candidate:${i}`));
    expect(dropped).toEqual([]);
    expect(hubErrors).toEqual([]);
    expect(closes).toEqual([]);
  });
});
