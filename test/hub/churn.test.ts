import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

/** Nothing a connection held outlives it: names, calls, pending logins, timers. */
describe('connection churn', () => {
  let hub: HubServer;
  beforeAll(async () => {
    hub = await startHubServer({ authenticate: () => new Promise((resolve) => setTimeout(() => resolve(true), 20)) });
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
    // Every caller's close told the anchor leave, and the hub let go of everything.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const internals = hub.hub as unknown as { connections: Set<unknown>; router: { names: Map<string, unknown> } };
    expect(internals.connections.size).toBe(1);
    expect([...internals.router.names.keys()]).toEqual(['anchor']);
    expect(anchor.inbox.filter((frame) => frame.type === 'leave')).toHaveLength(200);
    const anchorPeer = hub.hub.getPeer('anchor') as unknown as { partners?: Map<string, unknown> };
    expect(anchorPeer.partners?.size ?? 0).toBe(0);
  });
});
