import { expect, it } from 'vitest';
import { createBunHandler } from '../../src/bun.js';
import { SignallingHub } from '../../src/index.js';

/** A stand-in for Bun's server in the test process: records upgrades, reports the client address given. */
function fakeServer(address: string) {
  const upgrades: unknown[] = [];
  return {
    upgrades,
    requestIP: () => ({ address }),
    upgrade: (_request: Request, options: { data: unknown }) => {
      upgrades.push(options.data);
      return true;
    },
  };
}

const upgrade = () =>
  new Request('http://host/signalling', {
    headers: { upgrade: 'websocket', connection: 'Upgrade', 'x-forwarded-for': '198.51.100.7' },
  });

it('gives the Bun handler the per-address caps of the shared admission (429), per client address', async () => {
  const hub = new SignallingHub();
  try {
    const handler = createBunHandler(hub, {
      path: '/signalling',
      heartbeatInterval: 0,
      maxConnectionsPerAddress: 1,
      connectionRate: { perSecond: 0.001, burst: 2 },
    });
    const a = fakeServer('203.0.113.1');
    expect(await handler.fetch(upgrade(), a)).toBeUndefined();
    expect(a.upgrades).toHaveLength(1);
    // One connection open from that address (as Bun's open callback would make it): the cap is reached.
    hub.open({ send() {}, close() {} }, { remoteAddress: '203.0.113.1' });
    expect((await handler.fetch(upgrade(), a))?.status).toBe(429);
    const b = fakeServer('203.0.113.2');
    expect(await handler.fetch(upgrade(), b)).toBeUndefined();
    expect(await handler.fetch(upgrade(), b)).toBeUndefined();
    // The rate: two at once, then 429.
    expect((await handler.fetch(upgrade(), b))?.status).toBe(429);
    expect(b.upgrades).toHaveLength(2);
  } finally {
    await hub.close();
  }
});

it('reads X-Forwarded-For only from a proxy in trustProxy, and validates the new options', async () => {
  const hub = new SignallingHub();
  try {
    const handler = createBunHandler(hub, {
      path: '/signalling',
      heartbeatInterval: 0,
      trustProxy: ['10.0.0.0/8'],
      maxConnectionsPerAddress: 1,
    });
    hub.open({ send() {}, close() {} }, { remoteAddress: '198.51.100.7' });
    // From a trusted proxy: the client is 198.51.100.7, which already has its one connection.
    expect((await handler.fetch(upgrade(), fakeServer('10.1.2.3')))?.status).toBe(429);
    // From an untrusted peer the header counts for nothing.
    expect(await handler.fetch(upgrade(), fakeServer('203.0.113.9'))).toBeUndefined();
    expect(() => createBunHandler(hub, { maxConnectionsPerAddress: -1 })).toThrow(/maxConnectionsPerAddress/);
    expect(() => createBunHandler(hub, { trustProxy: ['nope'] })).toThrow(/trustProxy/);
    expect(() => createBunHandler(hub, { connectionRate: { perSecond: 1, burst: 0 } })).toThrow(/connectionRate.burst/);
  } finally {
    await hub.close();
  }
});
