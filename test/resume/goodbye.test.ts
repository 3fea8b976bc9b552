import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignallingClient } from '../../src/client.js';
import { CloseCode } from '../../src/protocol/index.js';
import type { PeerDropped } from '../../src/index.js';
import { nextEvent } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

/**
 * What a browser does: `ws.close()` with no code sends a close frame without
 * a status (the hub hears 1005). That is a goodbye: a resumable peer ends at
 * once and its partner (a SignallingClient) hears `leave` at once, not after
 * the grace. A client that means to come back closes with 4000.
 */
describe('a resumable peer closing on purpose', () => {
  let server: HubServer | undefined;
  let bob: SignallingClient | undefined;
  afterEach(async () => {
    await bob?.close();
    await server?.close();
    bob = server = undefined;
  });

  async function aliceCallsBob(): Promise<{ alice: TestClient; token: string }> {
    server = await startHubServer({ resumeGrace: 60_000 });
    bob = new SignallingClient(server.url, { WebSocket });
    await bob.login('bob');
    const alice = await TestClient.connect(server.url);
    const reply = await alice.login('alice', { resume: true });
    alice.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 alice' }, name: 'bob' });
    await nextEvent(bob, 'offer');
    bob.answer('alice', { type: 'answer', sdp: 'v=0 bob' });
    await alice.nextOf('answer');
    return { alice, token: reply.token as string };
  }

  it('ws.close() without a code: the partner hears leave at once and the name is free', async () => {
    const { alice } = await aliceCallsBob();
    const dropped: PeerDropped[] = [];
    server!.hub.on('peer-dropped', (event) => dropped.push(event));
    const left = nextEvent(server!.hub, 'peer-left');
    const leave = nextEvent(bob!, 'leave', 5000);
    alice.socket.close();
    expect(await leave).toEqual({ from: 'alice' });
    expect(await left).toMatchObject({ name: 'alice', reason: 'closed', code: 1005 });
    expect(dropped).toEqual([]);
    expect(server!.hub.stats().droppedPeers).toBe(0);
  });

  it('ws.close(4000): the name is kept, nobody hears leave, and the peer resumes with its token', async () => {
    const { alice, token } = await aliceCallsBob();
    const leaves: unknown[] = [];
    bob!.on('leave', (event) => leaves.push(event));
    const dropped = nextEvent(server!.hub, 'peer-dropped');
    alice.socket.close(CloseCode.Reconnecting, 'switching networks');
    expect(await dropped).toMatchObject({ peer: { name: 'alice' }, code: 4000 });
    const back = await TestClient.connect(server!.url);
    try {
      expect(await back.login('alice', { resume: true, token })).toMatchObject({ success: true, resumed: true });
      // Barrier: alice's next relay reaches bob after any leave sent when she went.
      back.send({ type: 'candidate', candidate: { candidate: 'sentinel' }, name: 'bob' });
      expect(await nextEvent(bob!, 'candidate')).toMatchObject({ from: 'alice' });
      expect(leaves).toEqual([]);
    } finally {
      back.close();
    }
  });
});
