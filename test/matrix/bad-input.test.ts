import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MatrixClient, TestHub } from './factory.js';
import { describeMatrix } from './matrix.js';

/** Every bad input gets an error reply and the connection (and everyone else) keeps working. */
describeMatrix('bad input', (factory) => {
  let hub: TestHub;
  let bystanderA: MatrixClient;
  let bystanderB: MatrixClient;
  beforeAll(async () => {
    hub = await factory.start();
    bystanderA = await hub.connect('callee');
    bystanderB = await hub.connect('caller');
    await bystanderA.login('bystander-a');
    await bystanderB.login('bystander-b');
  });
  afterAll(async () => {
    await hub.close();
  });

  async function stillServed(client: MatrixClient): Promise<void> {
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
    // A type that is not a string is a malformed message, not an unknown command.
    ['a numeric type', { type: 7 }, { code: 'invalid-message' }],
    ['an object type', { type: { a: 1 } }, { code: 'invalid-message' }],
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
    const client = await hub.connect('caller');
    await client.login(`sender-${Math.random()}`);
    const reply = await client.request(input);
    expect(reply).toMatchObject({ type: 'error', ...expected });
    expect(typeof reply.message).toBe('string');
    await stillServed(client);
    client.close();
  });

  it('answers relays before login with not-logged-in, then works after login', async () => {
    const client = await hub.connect('caller');
    for (const type of ['offer', 'answer', 'candidate', 'leave']) {
      const reply = await client.request({ type, [type]: {}, name: 'bystander-a' });
      expect(reply).toMatchObject({ type: 'error', code: 'not-logged-in', request: type });
    }
    await client.login('late');
    await stillServed(client);
    client.close();
  });

  it('answers a binary frame with binary-not-supported', async () => {
    const client = await hub.connect('caller');
    await client.login('binary-sender');
    if (factory.capabilities.binaryFrames) {
      client.sendBinary(Buffer.from('{"type":"login"}'));
      expect(await client.next()).toMatchObject({ type: 'error', code: 'binary-not-supported' });
    } else {
      // No binary frame exists on this transport (the HTTP fallback posts frames as JSON strings): the client cannot send one.
      expect(() => client.sendBinary(Buffer.from('{"type":"login"}'))).toThrow(/binary/);
    }
    await stillServed(client);
    client.close();
  });

  it('refuses a message over maxMessageBytes, and others keep going', async () => {
    const client = await hub.connect('caller');
    await client.login('big-sender');
    client.send({ type: 'offer', offer: 'x'.repeat(70 * 1024), name: 'bystander-a' });
    if (factory.capabilities.frameSizeClose) {
      // ws enforces the limit on the frame (maxPayload) and closes; the name is freed.
      expect((await client.closed).code).toBe(1009);
    } else {
      // A transport without a frame limit hands the text over: the core refuses it and the connection stays.
      expect(await client.next()).toMatchObject({ type: 'error', code: 'message-too-large' });
      await stillServed(client);
      client.close();
    }
    bystanderB.send({ type: 'candidate', candidate: 'after-big', name: 'bystander-a' });
    expect(await bystanderA.nextOf('candidate')).toMatchObject({ candidate: 'after-big' });
    expect(bystanderA.inbox.filter((frame) => frame.type === 'offer')).toEqual([]);
    // The name is free again.
    const left = hub.once('peer-left');
    if (hub.getPeer('big-sender') !== undefined) await left;
    await hub.settled();
    const again = await hub.connect('callee');
    expect(await again.login('big-sender')).toMatchObject({ success: true });
    again.close();
  });

  it('relays a full-size SDP offer', async () => {
    const client = await hub.connect('caller');
    await client.login('sdp-sender');
    const sdp = 'a=candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host\r\n'.repeat(300);
    client.send({ type: 'offer', offer: { type: 'offer', sdp }, name: 'bystander-a' });
    expect(await bystanderA.nextOf('offer')).toEqual({ type: 'offer', offer: { type: 'offer', sdp }, name: 'sdp-sender' });
    client.close();
  });

  it('reports refused input on the protocol-error event', async () => {
    const seen: string[] = [];
    const listener = (event: { code: string }) => seen.push(event.code);
    hub.on('protocol-error', listener);
    const client = await hub.connect('caller');
    await client.request('nope');
    hub.off('protocol-error', listener);
    expect(seen).toEqual(['invalid-json']);
    client.close();
  });
});
