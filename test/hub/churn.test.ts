import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

/** Calls the anchor can hold at once: every round fills it, so one partner left behind would keep a newcomer out. */
const maxCallsPerPeer = 20;

/** Nothing a connection held outlives it: names, calls, pending logins, timers. */
describe('connection churn', () => {
  let hub: HubServer;
  beforeAll(async () => {
    hub = await startHubServer({
      maxCallsPerPeer,
      authenticate: () => new Promise((resolve) => setTimeout(() => resolve(true), 20)),
    });
  });
  afterAll(async () => {
    await hub.close();
  });

  it('leaves no state behind after 200 connections log in, call, misbehave and go', async () => {
    const anchor = await TestClient.connect(hub.url);
    await anchor.login('anchor');
    for (let round = 0; round < 10; round++) {
      const clients = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(hub.url)));
      await Promise.all(clients.map((client, i) => client.login(`churn-${round}-${i}`)));
      for (const [i, client] of clients.entries()) {
        client.send({ type: 'offer', offer: {}, name: 'anchor' });
        client.send('not json');
        if (i % 4 === 0) client.send({ type: 'login', name: `other-${round}-${i}` });
      }
      // Some close while their login is still being decided by the async hook.
      const hasty = await Promise.all(Array.from({ length: 5 }, () => TestClient.connect(hub.url)));
      for (const [i, client] of hasty.entries()) {
        client.send({ type: 'login', name: `hasty-${round}-${i}` });
        client.close();
      }
      for (const client of clients) client.close();
      await Promise.all([...clients, ...hasty].map((client) => client.closed));
    }
    // Every caller's close told the anchor leave, and the hub let go of every connection.
    const leaves = () => anchor.inbox.filter((frame) => frame.type === 'leave').length;
    await until(() => leaves() >= 200, 'a leave from each of the 200 callers');
    const internals = hub.hub as unknown as {
      lifecycle: { open: number; connections: Set<unknown>; perAddress: Map<string, unknown> };
      router: { names: Map<string, unknown> };
    };
    await until(() => internals.lifecycle.open === 1, 'the hub to see every close');
    // The one open connection is the logged-in anchor (found by its name), the only one from its address.
    expect(internals.lifecycle.connections.size).toBe(0);
    expect([...internals.lifecycle.perAddress.values()]).toHaveLength(1);
    expect(leaves()).toBe(200);
    expect([...internals.router.names.keys()]).toEqual(['anchor']);
    expect(hub.hub.stats()).toMatchObject({ peers: 1, connections: 1, droppedPeers: 0 });

    // The anchor's calls were all ended: a newcomer's offer still opens a call (it would not fit beside
    // 20 stale partners), so the newcomer hears leave when the anchor goes.
    const newcomer = await TestClient.connect(hub.url);
    try {
      // Names of callers and of hasty logins are free again.
      expect(await newcomer.login('hasty-9-4')).toMatchObject({ success: true });
      newcomer.send({ type: 'offer', offer: {}, name: 'anchor' });
      await anchor.next((frame) => frame.type === 'offer' && frame.name === 'hasty-9-4');
      anchor.close();
      expect(await newcomer.nextOf('leave')).toEqual({ type: 'leave', name: 'anchor' });
      const again = await TestClient.connect(hub.url);
      expect(await again.login('churn-0-0')).toMatchObject({ success: true });
      again.close();
    } finally {
      newcomer.close();
    }
  });
});
