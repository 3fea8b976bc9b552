import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { SignallingHubError } from '../../src/index.js';
import { type RedisBackplane, RedisBusyError } from '../../src/redis.js';
import { loggedIn, sleep, untilRelayed, useRedisCluster } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';
import { type Frame, TestClient } from '../helpers/test-client.js';

setFlagsFromString('--expose-gc');
/** A full collection, so that heap figures compare what is still referenced. */
const gc = runInNewContext('gc') as () => void;

/** Heap and off-heap (buffers) in use after a full collection, in bytes. */
async function memoryInUse(): Promise<number> {
  await sleep(50);
  gc();
  gc();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/** Redis frozen with SIGSTOP: its connections stay open and it answers nothing. */
describe('a stalled Redis', () => {
  const cluster = useRedisCluster('s');
  const { clients } = cluster;

  it('caps the commands and bytes waiting for it, keeps memory flat, and relays again once it answers', async () => {
    const caps = { maxInFlightCommands: 64, maxInFlightBytes: 256 * 1024 };
    // Leases longer than the stall: this test is about memory, not about nodes judged dead.
    const one = await cluster.node({ ...caps, leaseTtl: 10_000, heartbeatInterval: 1000 });
    const two = await cluster.node({ leaseTtl: 10_000, heartbeatInterval: 1000 });
    const errors: SignallingHubError[] = [];
    one.hub.on('error', (error) => errors.push(error));
    const a = await loggedIn(one.url, 'Flood', clients);
    const b = await loggedIn(two.url, 'Sink', clients);
    await untilRelayed(a, b, 'Sink', 2000);
    const backplane = one.hub.options.backplane as RedisBackplane;
    // A large candidate, as a long SDP would be: 16 KB per message, about 13 MB/s at 800 messages/s.
    const payload = 'x'.repeat(16 * 1024);
    const before = await memoryInUse();

    cluster.redis.pause();
    let sent = 0;
    let unavailable = 0;
    let peakCommands = 0;
    let peakBytes = 0;
    try {
      const started = Date.now();
      // About 800 messages per second for 3 s (8 every 10 ms), bounded in count and time.
      for (let round = 0; round < 300 && Date.now() - started < 6000; round++) {
        for (let i = 0; i < 8; i++) a.send({ type: 'candidate', candidate: { candidate: payload, n: sent++ }, name: 'Sink' });
        await sleep(10);
        const status = backplane.status();
        peakCommands = Math.max(peakCommands, status.inFlightCommands);
        peakBytes = Math.max(peakBytes, status.inFlightBytes);
        for (const frame of a.inbox.splice(0)) if (frame.code === 'backplane-unavailable') unavailable++;
      }
      const during = await memoryInUse();
      expect(peakCommands).toBeLessThanOrEqual(caps.maxInFlightCommands);
      expect(peakBytes).toBeLessThanOrEqual(caps.maxInFlightBytes);
      // Uncapped, every message stays queued in the client: ~38 MB here. Capped, at most the byte cap and some noise.
      expect(during - before).toBeLessThan(12 * 1024 * 1024);
      expect(backplane.status().state).toBe('disconnected');
    } finally {
      cluster.redis.resume();
    }

    // Every message got its answer (most at once; the first few after commandTimeout).
    const deadline = Date.now() + 3000;
    while (unavailable < sent && Date.now() < deadline) {
      await sleep(50);
      for (const frame of a.inbox.splice(0)) if (frame.code === 'backplane-unavailable') unavailable++;
    }
    expect(unavailable).toBe(sent);
    // Told once, not once per message.
    expect(errors.filter((error) => error instanceof RedisBusyError)).toHaveLength(1);
    expect(errors.length).toBeLessThanOrEqual(3);

    // Redis answers again: relaying resumes and nothing is left waiting.
    await untilRelayed(a, b, 'Sink', 5000);
    // The last answers are on their way: wait for them (with a deadline), not for a fixed time.
    await until(() => backplane.status().inFlightCommands === 0, 'nothing left waiting for Redis');
    expect(backplane.status()).toMatchObject({ state: 'connected', inFlightCommands: 0, inFlightBytes: 0 });
  });

  it('does not deliver, once Redis answers again, a message its sender was told is unavailable', async () => {
    const [one, two] = [await cluster.node({ commandTimeout: 300 }), await cluster.node({ commandTimeout: 300 })];
    const a = await loggedIn(one.url, 'Early', clients);
    const b = await loggedIn(two.url, 'Later', clients);
    cluster.redis.pause();
    try {
      a.send({ type: 'offer', offer: { sdp: 'stale' }, name: 'Later' });
      expect(await a.nextOf('error', 2000)).toMatchObject({ code: 'backplane-unavailable', target: 'Later' });
      await sleep(200);
    } finally {
      cluster.redis.resume();
    }
    // Sentinels through the same path: had Redis published the stale offer when it woke up, it would come first.
    const started = Date.now();
    let first: Frame | undefined;
    while (first === undefined) {
      if (Date.now() - started > 5000) throw new Error('no cross-node relay within 5000 ms');
      a.send({ type: 'offer', offer: { sdp: 'sentinel' }, name: 'Later' });
      first = await b.nextOf('offer', 100).catch(() => undefined);
    }
    expect(first).toEqual({ type: 'offer', offer: { sdp: 'sentinel' }, name: 'Early' });
  });

  it('does not let a login answered backplane-unavailable take the name once Redis answers again', async () => {
    // No heartbeat during the test: a claim that took effect would stay until node two's next one gave it back.
    const options = { commandTimeout: 300, leaseTtl: 20_000, heartbeatInterval: 5000 };
    const [one, two] = [await cluster.node(options), await cluster.node(options)];
    const late = await TestClient.connect(two.url);
    clients.push(late);
    cluster.redis.pause();
    try {
      expect(await late.login('Unclaimed')).toMatchObject({ success: false, reason: 'backplane-unavailable' });
      await sleep(200);
    } finally {
      cluster.redis.resume();
    }
    // At once: before node two's next heartbeat could give back a claim that happened.
    const other = await TestClient.connect(one.url);
    clients.push(other);
    expect(await other.login('Unclaimed')).toMatchObject({ success: true, name: 'Unclaimed' });
  });
});
