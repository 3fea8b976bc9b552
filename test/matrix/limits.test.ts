import { afterEach, expect, it } from 'vitest';
import type { TestHub } from './factory.js';
import { sleep } from '../helpers/time.js';
import { describeMatrix } from './matrix.js';

describeMatrix('limits', (factory) => {
  let hub: TestHub;
  afterEach(async () => {
    await hub.close();
  });

  it('lets a realistic burst of candidates through under the default rate limit', async () => {
    hub = await factory.start();
    const a = await hub.connect('caller');
    const b = await hub.connect('callee');
    await a.login('a');
    await b.login('b');
    for (let i = 0; i < 500; i++) a.send({ type: 'candidate', candidate: { i }, name: 'b' });
    for (let i = 0; i < 500; i++) expect(await b.nextOf('candidate')).toMatchObject({ candidate: { i } });
    expect(a.inbox).toEqual([]);
  });

  it('drops a flood with one rate-limited error, then closes a persistent flooder with 4429', async () => {
    hub = await factory.start({ rateLimit: { messagesPerSecond: 10, burst: 20 } });
    const flooder = await hub.connect('caller');
    const victim = await hub.connect('callee');
    await flooder.login('flooder');
    await victim.login('victim');
    for (let i = 0; i < 100; i++) flooder.send({ type: 'candidate', candidate: i, name: 'victim' });
    expect((await flooder.closed).code).toBe(4429);
    const errors = flooder.inbox.filter((frame) => frame.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'rate-limited' });
    // Burst minus the login message got through, in order; the rest was dropped.
    for (let i = 0; i < 19; i++) expect(await victim.nextOf('candidate')).toMatchObject({ candidate: i });
    // Barrier: a relay from another peer on the flooder's node takes the same path (in order, through Redis too).
    const sentinel = await hub.connect('caller');
    await sentinel.login('sentinel');
    sentinel.send({ type: 'candidate', candidate: 'sentinel', name: 'victim' });
    expect(await victim.nextOf('candidate')).toMatchObject({ candidate: 'sentinel', name: 'sentinel' });
    expect(victim.inbox.filter((frame) => frame.type === 'candidate')).toEqual([]);
    expect(hub.getPeer('flooder')).toBeUndefined();
    expect(hub.getPeer('victim')).toBeDefined();
  });

  it('tells the sender peer-congested while a reader does not read, and closes the reader with 4507 after slowConsumerTimeout', async () => {
    hub = await factory.start({ maxBufferedBytes: 256 * 1024, slowConsumerTimeout: 300, rateLimit: false });
    const writer = await hub.connect('caller');
    const sleeper = await hub.connect('callee');
    await writer.login('writer');
    await sleeper.login('sleeper');
    const left = hub.once('peer-left');
    sleeper.pauseReading();
    const payload = 'x'.repeat(16 * 1024);
    let sent = 0;
    const deadline = Date.now() + 15_000;
    while (hub.getPeer('sleeper') !== undefined && sent < 5000 && Date.now() < deadline) {
      writer.send({ type: 'candidate', candidate: payload, name: 'sleeper' });
      sent++;
      if (sent % 20 === 0) await sleep(5);
    }
    expect(await left).toMatchObject({ name: 'sleeper', reason: 'slow-consumer', code: 4507 });
    // The writer was told its relays were dropped, and was never disconnected.
    expect(await writer.next((frame) => frame.type === 'error' && frame.code === 'peer-congested')).toMatchObject({
      target: 'sleeper',
    });
    await hub.settled();
    // The writer is fine and now gets peer-not-found.
    writer.send({ type: 'candidate', candidate: 1, name: 'sleeper' });
    expect(await writer.next((frame) => frame.type === 'error' && frame.code === 'peer-not-found', 10_000)).toMatchObject({
      target: 'sleeper',
    });
    expect(writer.isOpen).toBe(true);
  });

  it('queues at most maxPendingMessages during a login', async () => {
    hub = await factory.start({
      maxPendingMessages: 3,
      authenticate: () => new Promise((resolve) => setTimeout(() => resolve(true), 100)),
    });
    const client = await hub.connect();
    client.send({ type: 'login', name: 'hasty' });
    for (let i = 0; i < 5; i++) client.send({ type: 'candidate', candidate: i, name: 'hasty' });
    const overflow = [await client.nextOf('error'), await client.nextOf('error')];
    expect(overflow.every((frame) => frame.code === 'login-pending')).toBe(true);
    expect(await client.nextOf('login')).toMatchObject({ success: true });
    // The three held candidates (to itself) arrive in order.
    for (let i = 0; i < 3; i++) expect(await client.nextOf('candidate')).toMatchObject({ candidate: i });
  });
});
