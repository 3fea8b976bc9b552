import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { InvalidArgumentError, LoginError, SignallingClient, type TransportEvent } from '../../src/client.js';
import { nextEvent } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';

/** A WebSocket server on loopback that answers every login with `reply(name)`. */
async function misbehaving(reply: (name: string) => unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString()) as { type?: string; name?: string };
      if (message.type === 'login') socket.send(JSON.stringify(reply(message.name!)));
    });
  });
  const { port } = server.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('SignallingClient does not take its server’s word for everything', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.each([
    ['another name', 'mallory'],
    ['a non-string name', 42],
    ['no name', undefined],
  ])('refuses a login reply naming %s: a protocol error, not its name', async (_what, named) => {
    const server = await misbehaving(() => ({ type: 'login', success: true, name: named, token: 't' }));
    cleanups.push(server.close);
    const alice = new SignallingClient(server.url, { WebSocket, reconnect: false });
    cleanups.push(() => alice.close());
    const closed = nextEvent(alice, 'close');
    const refused = await alice.login('alice').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LoginError);
    expect((refused as LoginError).reason).toBe('connection-closed');
    expect((refused as LoginError).message).toMatch(/protocol error: the login reply named .*, not "alice"/);
    expect(await closed).toMatchObject({ code: 1002, reconnecting: false });
    expect(alice.name).toBeUndefined();
    expect(alice.state).toBe('closed');
  });

  it('takes a login reply that names the name asked for', async () => {
    const server = await misbehaving((name) => ({ type: 'login', success: true, name, token: 't' }));
    cleanups.push(server.close);
    const alice = new SignallingClient(server.url, { WebSocket, reconnect: false });
    cleanups.push(() => alice.close());
    await expect(alice.login('alice')).resolves.toEqual({ name: 'alice', resumed: false });
    expect(alice.name).toBe('alice');
  });
});

describe('SignallingClient in Node', () => {
  let served: HubServer | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  it('refuses a relative URL at once, saying why (there is no page to resolve it against)', () => {
    expect('location' in globalThis).toBe(false);
    for (const url of ['/signal', ['ws://127.0.0.1:1/', 'signal']]) {
      const error = (() => {
        try {
          new SignallingClient(url, { WebSocket });
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/absolute .* URL \(a relative one needs a page to resolve against\)/);
    }
  });

  it('works where reading `location` throws (Deno without --location): absolute URLs pass, relative ones are refused', () => {
    Object.defineProperty(globalThis, 'location', {
      configurable: true,
      get() {
        throw new ReferenceError('Access to "location", run again with --location <href>.');
      },
    });
    try {
      expect(() => new SignallingClient('ws://127.0.0.1:1/', { WebSocket })).not.toThrow();
      expect(() => new SignallingClient('/signal', { WebSocket })).toThrow(InvalidArgumentError);
    } finally {
      delete (globalThis as { location?: unknown }).location;
    }
  });

  it('without a WebSocket class (Node 20) uses the HTTP fallback and says so in the transport event', async () => {
    const global = globalThis as { WebSocket?: unknown };
    const saved = global.WebSocket;
    delete global.WebSocket;
    try {
      served = await startHubServer(undefined, { closeTimeout: 100 });
      const alice = new SignallingClient(served.url);
      const transport = nextEvent(alice, 'transport');
      await alice.login('alice');
      const event: TransportEvent = await transport;
      expect(event.transport).toBe('http');
      expect(event.reason).toMatch(/no WebSocket implementation .*pass the WebSocket option/);
      expect(alice.transport).toBe('http');
      await alice.close();
    } finally {
      if (saved !== undefined) global.WebSocket = saved;
    }
  });
});
