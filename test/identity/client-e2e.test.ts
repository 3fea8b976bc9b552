import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LoginError, SignallingClient, type SignallingClientOptions } from '../../src/client.js';
import { type HubOptions, LoginRefusedError } from '../../src/index.js';
import { startHubServer } from '../helpers/hub-server.js';

/** The client half of #19 against the real hub: names the server decides, the host's refusal text. */
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pair(hubOptions: HubOptions, clientOptions: SignallingClientOptions = {}) {
  const server = await startHubServer(hubOptions);
  cleanups.push(() => server.close());
  const client = new SignallingClient(server.url, { WebSocket, reconnectDelay: 20, maxReconnectDelay: 100, ...clientOptions });
  cleanups.push(() => client.close());
  return { server, client };
}

it('a client logs in under the name the host gives from its login fields (acceptAssignedName)', async () => {
  const { server, client } = await pair(
    { authenticate: ({ message }) => ({ name: `user-${message.user as string}`, data: { user: message.user } }) },
    { acceptAssignedName: true, loginFields: { user: '42' } },
  );
  expect(await client.login('anything')).toMatchObject({ name: 'user-42' });
  expect(client.name).toBe('user-42');
  expect(server.hub.getPeer('user-42')?.data).toEqual({ user: '42' });
});

it('a client that asks for no name gets a fresh one from a hub with assignNames', async () => {
  const { server, client } = await pair({ assignNames: true });
  const { name } = await client.login();
  expect(name).toMatch(/^[0-9a-f-]{36}$/);
  expect(server.hub.getPeer(name)).toBeDefined();
});

it("a refused login reaches the client as a LoginError carrying the host's message", async () => {
  const { client } = await pair({
    authenticate: () => {
      throw new LoginRefusedError('Your plan does not include calls');
    },
  });
  const error = await client.login('alice').then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LoginError);
  expect(error).toMatchObject({ reason: 'unauthorized', message: 'Your plan does not include calls' });
});
