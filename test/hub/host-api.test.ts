import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HubClosedError, InvalidOptionError, SignallingHub } from '../../src/index.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

describe('the host API', () => {
  let hub: HubServer;
  beforeEach(async () => {
    hub = await startHubServer();
  });
  afterEach(async () => {
    await hub.close();
  });

  it('lists and looks up logged-in peers only', async () => {
    const a = await TestClient.connect(hub.url);
    await TestClient.connect(hub.url); // connected, never logged in
    await a.login('listed');
    expect(hub.hub.size).toBe(1);
    expect([...hub.hub.peers()].map((peer) => peer.name)).toEqual(['listed']);
    const peer = hub.hub.getPeer('listed');
    expect(peer).toMatchObject({ name: 'listed', remoteAddress: '127.0.0.1' });
    expect(hub.hub.getPeer('nobody')).toBeUndefined();
  });

  it('sends a host message to a peer', async () => {
    const a = await TestClient.connect(hub.url);
    await a.login('recipient');
    expect(await hub.hub.send('recipient', { type: 'notice', text: 'hello' })).toBe(true);
    expect(await a.nextOf('notice')).toEqual({ type: 'notice', text: 'hello' });
    expect(await hub.hub.send('nobody', { type: 'notice' })).toBe(false);
  });

  it('disconnects a peer with 4403; its partners hear leave', async () => {
    const a = await TestClient.connect(hub.url);
    const b = await TestClient.connect(hub.url);
    await a.login('kicked');
    await b.login('partner');
    a.send({ type: 'offer', offer: {}, name: 'partner' });
    await b.nextOf('offer');
    const left = new Promise((resolve) => hub.hub.once('peer-left', resolve));
    expect(hub.hub.disconnect('kicked', 'bye')).toBe(true);
    expect(await a.closed).toEqual({ code: 4403, reason: 'bye' });
    expect(await left).toMatchObject({ name: 'kicked', reason: 'disconnected', code: 4403 });
    expect(await b.nextOf('leave')).toMatchObject({ name: 'kicked' });
    expect(hub.hub.disconnect('kicked')).toBe(false);
  });

  it('close() closes every connection with 1001 and refuses new ones', async () => {
    const a = await TestClient.connect(hub.url);
    const b = await TestClient.connect(hub.url);
    await a.login('one');
    const reasons: string[] = [];
    hub.hub.on('peer-left', (event) => reasons.push(event.reason));
    await hub.hub.close();
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    expect(reasons).toEqual(['hub-closed']);
    // The adapter refuses upgrades to a closed hub before the handshake.
    await expect(TestClient.connect(hub.url)).rejects.toThrow(/503/);
    await expect(hub.hub.send('one', {})).rejects.toBeInstanceOf(HubClosedError);
    await hub.hub.close(); // idempotent
  });
});

describe('options', () => {
  it.each([
    [{ maxNameLength: 0 }, 'maxNameLength'],
    [{ maxMessageBytes: -1 }, 'maxMessageBytes'],
    [{ rateLimit: { messagesPerSecond: Number.NaN, burst: 1 } }, 'rateLimit.messagesPerSecond'],
    [{ loginTimeout: -5 }, 'loginTimeout'],
    [{ authenticate: 'yes' }, 'authenticate'],
  ])('throws InvalidOptionError for %j', (options, option) => {
    expect(() => new SignallingHub(options as never)).toThrow(InvalidOptionError);
    try {
      new SignallingHub(options as never);
    } catch (error) {
      expect((error as InvalidOptionError).option).toBe(option);
    }
  });

  it('fills in documented defaults', () => {
    const hub = new SignallingHub();
    expect(hub.options).toMatchObject({
      maxNameLength: 128,
      maxMessageBytes: 65536,
      rateLimit: { messagesPerSecond: 1000, burst: 2000 },
      maxBufferedBytes: 1048576,
      loginTimeout: 30000,
      maxPendingMessages: 64,
      maxCallsPerPeer: 256,
    });
  });
});
