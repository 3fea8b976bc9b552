import { expect } from 'vitest';
import { TestClient } from './test-client.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects to `url`, logs in as `name` (expecting success) and keeps the client in `owned` for cleanup. */
export async function loggedIn(url: string, name: string, owned: TestClient[]): Promise<TestClient> {
  const client = await TestClient.connect(url);
  owned.push(client);
  expect(await client.login(name)).toMatchObject({ type: 'login', success: true, name });
  return client;
}

/** Opens a call (offer, then answer), so that each side hears `leave` when the other goes. */
export async function startCall(caller: TestClient, callerName: string, callee: TestClient, calleeName: string): Promise<void> {
  caller.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 call' }, name: calleeName });
  expect(await callee.nextOf('offer')).toMatchObject({ name: callerName });
  callee.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 call' }, name: callerName });
  expect(await caller.nextOf('answer')).toMatchObject({ name: calleeName });
}

/**
 * Logs in as `name`, again every 100 ms while the name is still taken, for up
 * to `withinMs` (a release on another node is asynchronous); returns the last reply.
 */
export async function loginWithin(client: TestClient, name: string, withinMs: number) {
  const deadline = Date.now() + withinMs;
  let reply = await client.login(name);
  while (reply.success !== true && Date.now() < deadline) {
    await sleep(100);
    reply = await client.login(name);
  }
  return reply;
}
