import { afterEach, describe, expect, it } from 'vitest';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

describe('limits', () => {
  let hub: HubServer;
  afterEach(async () => {
    await hub.close();
  });

  it('lets a realistic burst of candidates through under the default rate limit', async () => {
    hub = await startHubServer();
    const a = await TestClient.connect(hub.url);
    const b = await TestClient.connect(hub.url);
    await a.login('a');
    await b.login('b');
    for (let i = 0; i < 500; i++) a.send({ type: 'candidate', candidate: { i }, name: 'b' });
    for (let i = 0; i < 500; i++) expect(await b.nextOf('candidate')).toMatchObject({ candidate: { i } });
    expect(a.inbox).toEqual([]);
  });

  it('drops a flood with one rate-limited error, then closes a persistent flooder with 4429', async () => {
    hub = await startHubServer({ rateLimit: { messagesPerSecond: 10, burst: 20 } });
    const flooder = await TestClient.connect(hub.url);
    const victim = await TestClient.connect(hub.url);
    await flooder.login('flooder');
    await victim.login('victim');
    for (let i = 0; i < 100; i++) flooder.send({ type: 'candidate', candidate: i, name: 'victim' });
    expect((await flooder.closed).code).toBe(4429);
    const errors = flooder.inbox.filter((frame) => frame.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'rate-limited' });
    // Burst minus the login message got through; the rest was dropped.
    let relayed = 0;
    while (relayed < 19) {
      await victim.nextOf('candidate');
      relayed++;
    }
    expect(victim.inbox.filter((frame) => frame.type === 'candidate')).toEqual([]);
    expect(hub.hub.getPeer('flooder')).toBeUndefined();
    expect(hub.hub.getPeer('victim')).toBeDefined();
  });

  it('closes a reader that stops reading with 4507 once its queue passes maxBufferedBytes', async () => {
    hub = await startHubServer({ maxBufferedBytes: 256 * 1024, rateLimit: false });
    const writer = await TestClient.connect(hub.url);
    const sleeper = await TestClient.connect(hub.url);
    await writer.login('writer');
    await sleeper.login('sleeper');
    const left = new Promise((resolve) => hub.hub.once('peer-left', resolve));
    // Stop reading at the TCP level: the kernel buffers fill, then the hub's queue grows.
    (sleeper.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(16 * 1024);
    let sent = 0;
    while (hub.hub.getPeer('sleeper') !== undefined && sent < 2000) {
      writer.send({ type: 'candidate', candidate: payload, name: 'sleeper' });
      sent++;
      if (sent % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await left).toMatchObject({ name: 'sleeper', reason: 'slow-consumer', code: 4507 });
    // The writer is fine and now gets peer-not-found.
    expect(await writer.request({ type: 'candidate', candidate: 1, name: 'sleeper' }, 10000)).toMatchObject({
      type: 'error',
      code: 'peer-not-found',
    });
  });

  it('queues at most maxPendingMessages during a login', async () => {
    hub = await startHubServer({
      maxPendingMessages: 3,
      authenticate: () => new Promise((resolve) => setTimeout(() => resolve(true), 100)),
    });
    const client = await TestClient.connect(hub.url);
    client.send({ type: 'login', name: 'hasty' });
    for (let i = 0; i < 5; i++) client.send({ type: 'candidate', candidate: i, name: 'hasty' });
    const overflow = [await client.nextOf('error'), await client.nextOf('error')];
    expect(overflow.every((frame) => frame.code === 'login-pending')).toBe(true);
    expect(await client.nextOf('login')).toMatchObject({ success: true });
    // The three held candidates (to itself) arrive in order.
    for (let i = 0; i < 3; i++) expect(await client.nextOf('candidate')).toMatchObject({ candidate: i });
  });
});
