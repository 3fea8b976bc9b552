import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

/** Every bad input gets an error reply and the connection (and everyone else) keeps working. */
describe('bad input', () => {
  let hub: HubServer;
  let bystanderA: TestClient;
  let bystanderB: TestClient;
  beforeAll(async () => {
    hub = await startHubServer();
    bystanderA = await TestClient.connect(hub.url);
    bystanderB = await TestClient.connect(hub.url);
    await bystanderA.login('bystander-a');
    await bystanderB.login('bystander-b');
  });
  afterAll(async () => {
    await hub.close();
  });

  async function stillServed(client: TestClient): Promise<void> {
    // The sender still works, and so do unrelated peers.
    client.send({ type: 'candidate', candidate: { candidate: 'c' }, name: 'bystander-a' });
    const relayed = await bystanderA.nextOf('candidate');
    expect(relayed.candidate).toEqual({ candidate: 'c' });
    bystanderB.send({ type: 'candidate', candidate: 'x', name: 'bystander-a' });
    expect(await bystanderA.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'x', name: 'bystander-b' });
  }

  const cases: Array<[string, string | object, Record<string, unknown>]> = [
    ['invalid JSON', '{"type":"offer",', { code: 'invalid-json' }],
    ['an empty frame', '', { code: 'invalid-json' }],
    ['a JSON string', '"login"', { code: 'invalid-message' }],
    ['a JSON number', '42', { code: 'invalid-message' }],
    ['JSON null', 'null', { code: 'invalid-message' }],
    ['a JSON array', '[{"type":"login"}]', { code: 'invalid-message' }],
    ['an object without type', { name: 'x' }, { code: 'invalid-message' }],
    ['an unknown type', { type: 'dance' }, { code: 'unknown-type', message: 'Command not found: dance', request: 'dance' }],
    ['a numeric type', { type: 7 }, { code: 'unknown-type', message: 'Command not found: 7' }],
    ['an object type', { type: { a: 1 } }, { code: 'unknown-type' }],
    ['offer without target', { type: 'offer', offer: {} }, { code: 'invalid-message', request: 'offer' }],
    ['offer with a numeric target', { type: 'offer', offer: {}, name: 5 }, { code: 'invalid-message' }],
    ['offer without payload', { type: 'offer', name: 'bystander-b' }, { code: 'invalid-message', target: 'bystander-b' }],
    ['answer without payload', { type: 'answer', name: 'bystander-b' }, { code: 'invalid-message', request: 'answer' }],
    ['candidate without payload', { type: 'candidate', name: 'bystander-b' }, { code: 'invalid-message' }],
    [
      'offer to nobody',
      { type: 'offer', offer: {}, name: 'nobody' },
      { code: 'peer-not-found', target: 'nobody', message: 'Peer not found: nobody' },
    ],
    [
      'leave to nobody (crashes the tutorial server)',
      { type: 'leave', name: 'nobody' },
      { code: 'peer-not-found', target: 'nobody' },
    ],
    [
      'a target named __proto__',
      { type: 'candidate', candidate: 1, name: '__proto__' },
      { code: 'peer-not-found', target: '__proto__' },
    ],
  ];

  it.each(cases)('answers %s with an error and keeps serving', async (_label, input, expected) => {
    const client = await TestClient.connect(hub.url);
    await client.login(`sender-${Math.random()}`);
    const reply = await client.request(input);
    expect(reply).toMatchObject({ type: 'error', ...expected });
    expect(typeof reply.message).toBe('string');
    await stillServed(client);
    client.close();
  });

  it('answers relays before login with not-logged-in, then works after login', async () => {
    const client = await TestClient.connect(hub.url);
    for (const type of ['offer', 'answer', 'candidate', 'leave']) {
      const reply = await client.request({ type, [type]: {}, name: 'bystander-a' });
      expect(reply).toMatchObject({ type: 'error', code: 'not-logged-in', request: type });
    }
    await client.login('late');
    await stillServed(client);
    client.close();
  });

  it('answers a binary frame with binary-not-supported', async () => {
    const client = await TestClient.connect(hub.url);
    await client.login('binary-sender');
    client.socket.send(Buffer.from('{"type":"login"}'), { binary: true });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'binary-not-supported' });
    await stillServed(client);
    client.close();
  });

  it('closes with 1009 on a frame over maxMessageBytes, and others keep going', async () => {
    const client = await TestClient.connect(hub.url);
    await client.login('big-sender');
    client.send({ type: 'offer', offer: 'x'.repeat(70 * 1024), name: 'bystander-a' });
    expect((await client.closed).code).toBe(1009);
    bystanderB.send({ type: 'candidate', candidate: 'after-big', name: 'bystander-a' });
    expect(await bystanderA.nextOf('candidate')).toMatchObject({ candidate: 'after-big' });
    // The name is free again.
    const again = await TestClient.connect(hub.url);
    expect(await again.login('big-sender')).toMatchObject({ success: true });
    again.close();
  });

  it('relays a full-size SDP offer', async () => {
    const client = await TestClient.connect(hub.url);
    await client.login('sdp-sender');
    const sdp = 'a=candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host\r\n'.repeat(300);
    client.send({ type: 'offer', offer: { type: 'offer', sdp }, name: 'bystander-b' });
    expect(await bystanderB.nextOf('offer')).toEqual({ type: 'offer', offer: { type: 'offer', sdp }, name: 'sdp-sender' });
    client.close();
  });

  it('reports refused input on the protocol-error event', async () => {
    const seen: string[] = [];
    const listener = (event: { code: string }) => seen.push(event.code);
    hub.hub.on('protocol-error', listener);
    const client = await TestClient.connect(hub.url);
    await client.request('nope');
    hub.hub.off('protocol-error', listener);
    expect(seen).toEqual(['invalid-json']);
    client.close();
  });
});
