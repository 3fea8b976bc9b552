import { expect } from 'vitest';
import type { HubServer } from '../helpers/hub-server.js';
import { RawWsClient } from '../helpers/raw-ws.js';
import { TestClient } from '../helpers/test-client.js';

const { frame } = RawWsClient;

/**
 * A whole call over the adapter, both ways, with the frames a fast path
 * could get wrong: a large offer, a burst in one segment, fragments, a ping,
 * a binary frame, an error reply and a refused login.
 */
export async function fullConversation(hub: Pick<HubServer, 'url' | 'port'>): Promise<void> {
  const alice = await TestClient.connect(hub.url);
  const bob = await RawWsClient.connect(hub.port, new URL(hub.url).pathname);
  expect(await alice.login('alice')).toMatchObject({ success: true, name: 'alice' });
  bob.write(frame(JSON.stringify({ type: 'login', name: 'alice' })));
  expect(await bob.nextJson()).toMatchObject({ type: 'login', success: false, reason: 'name-taken' });
  bob.write(frame(JSON.stringify({ type: 'login', name: 'bob' })));
  expect(await bob.nextJson()).toMatchObject({ type: 'login', success: true, name: 'bob' });

  const sdp = 'v=0\r\n' + 'a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n'.repeat(500);
  alice.send({ type: 'offer', offer: { type: 'offer', sdp }, name: 'bob' });
  expect(await bob.nextJson()).toEqual({ type: 'offer', offer: { type: 'offer', sdp }, name: 'alice' });

  // The answer in three fragments with a ping in between, then five candidates in one segment.
  const answer = JSON.stringify({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 answer' }, name: 'alice' });
  bob.write(
    Buffer.concat([
      frame(answer.slice(0, 10), { first: 0x01 }),
      frame(answer.slice(10, 20), { first: 0x00 }),
      frame('ping', { opcode: 9 }),
      frame(answer.slice(20), { first: 0x80 }),
      ...[1, 2, 3, 4, 5].map((i) =>
        frame(JSON.stringify({ type: 'candidate', candidate: { candidate: `c${i}` }, name: 'alice' })),
      ),
    ]),
  );
  expect(await bob.next()).toEqual({ opcode: 10, payload: Buffer.from('ping') });
  expect(await alice.nextOf('answer')).toEqual({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 answer' }, name: 'bob' });
  for (const i of [1, 2, 3, 4, 5]) {
    expect(await alice.nextOf('candidate')).toEqual({ type: 'candidate', candidate: { candidate: `c${i}` }, name: 'bob' });
  }
  alice.send({ type: 'candidate', candidate: null, name: 'bob' });
  expect(await bob.nextJson()).toEqual({ type: 'candidate', candidate: null, name: 'alice' });

  bob.write(frame(Buffer.from('{}'), { opcode: 2 }));
  expect(await bob.nextJson()).toMatchObject({ type: 'error', code: 'binary-not-supported' });
  expect(await alice.request({ type: 'offer', offer: {}, name: 'nobody' })).toMatchObject({
    type: 'error',
    code: 'peer-not-found',
    target: 'nobody',
  });

  alice.send({ type: 'leave', name: 'bob' });
  expect(await bob.nextJson()).toEqual({ type: 'leave', name: 'alice' });
  // Bob's connection closes: alice, still in the call from bob's side, hears leave.
  bob.write(frame(JSON.stringify({ type: 'offer', offer: { sdp: 'again' }, name: 'alice' })));
  expect(await alice.nextOf('offer')).toMatchObject({ name: 'bob' });
  const close = Buffer.alloc(2);
  close.writeUInt16BE(1000);
  bob.write(frame(close, { opcode: 8 }));
  expect(await bob.closeCode()).toBe(1000);
  expect(await alice.nextOf('leave')).toEqual({ type: 'leave', name: 'bob' });
  alice.close();
  expect((await alice.closed).code).toBe(1005);
}
