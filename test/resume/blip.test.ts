import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignallingClient } from '../../src/client.js';
import type { PeerDropped, PeerLeft, PeerResumed } from '../../src/index.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';
import { TestClient } from '../helpers/test-client.js';
import { WebRtcPeers, flow, restartIce, restarted, ufrag } from './webrtc-peers.js';
import { sleep } from '../helpers/time.js';

describe('a call survives its signalling connection dropping (a real TCP proxy in front of the hub, real WebRTC)', () => {
  let server: HubServer;
  let proxy: TcpProxy;
  const peers = new WebRtcPeers();
  const hubEvents = { dropped: [] as PeerDropped[], resumed: [] as PeerResumed[], left: [] as PeerLeft[] };

  beforeAll(async () => {
    server = await startHubServer({ resumeGrace: 10_000 });
    server.hub.on('peer-dropped', (event) => hubEvents.dropped.push(event));
    server.hub.on('peer-resumed', (event) => hubEvents.resumed.push(event));
    server.hub.on('peer-left', (event) => hubEvents.left.push(event));
  });
  afterEach(async () => {
    await peers.closeAll();
    await proxy?.close();
    hubEvents.dropped.length = hubEvents.resumed.length = hubEvents.left.length = 0;
  });
  afterAll(async () => {
    await server?.close();
    await peers.dispose();
  });

  /** alice through the proxy (slow to come back, so the gap is long enough to act in), bob directly; in a call. */
  async function aliceCallsBob() {
    proxy = await startTcpProxy(server.port);
    const alice = await peers.peer('alice', `ws://127.0.0.1:${proxy.port}/`, { reconnectDelay: 2000, maxReconnectDelay: 2000 });
    const bob = await peers.peer('bob', server.url);
    const link = await peers.connect(alice, bob);
    return { alice, bob, link, traffic: flow(link) };
  }

  it('resumes after a drop: the partner never hears leave, a relay sent in the gap arrives after the resume, and the data channel loses nothing', async () => {
    const { alice, bob, link, traffic } = await aliceCallsBob();
    await sleep(300);
    const dropped = nextEvent(server.hub, 'peer-dropped');
    proxy.drop();
    expect((await dropped).peer.name).toBe('alice');
    const atDrop = traffic.received;
    await until(() => alice.client.state === 'reconnecting', 'alice to notice');

    // In the gap bob restarts ICE: the hub holds his offer for alice.
    const atBob = bob.calls.get('alice')!;
    const atAlice = alice.calls.get('bob')!;
    const before = [ufrag(atBob.localDescription), ufrag(atAlice.localDescription)];
    expect(bob.calls.restartIce('alice')).toBe(true);
    await until(() => atBob.signalingState === 'have-local-offer', 'the restart offer');
    // The hub holds it for alice, who is still away.
    await until(() => server.hub.stats().heldBytes > 0, 'the offer held for alice');
    expect(alice.client.state).toBe('reconnecting');
    expect(server.hub.stats().droppedPeers).toBe(1);

    const resumed = await nextEvent(server.hub, 'peer-resumed', 10_000);
    expect(resumed.peer.name).toBe('alice');
    // Messages crossed the channel while the signalling was down.
    expect(traffic.received).toBeGreaterThan(atDrop);
    // The held offer came right after the login reply, and the restart completed through the hub.
    await until(() => restarted(atBob, atAlice, before), 'the ICE restart to complete', 20_000);
    expect(alice.log).toEqual(['login fresh', 'answer bob', 'close 1006', 'login resumed', 'offer bob']);
    expect(bob.log).toEqual(['login fresh', 'offer alice', 'answer alice']);

    await sleep(300);
    await traffic.stop();
    expect(link.outgoing.readyState).toBe('open');
    expect(bob.leaves).toEqual([]);
    expect([...alice.closed, ...bob.closed]).toEqual([]);
    expect(hubEvents.left).toEqual([]);
    expect(hubEvents.resumed).toHaveLength(1);
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });

  it('resumes over a blip the hub has not noticed yet: the stale connection is replaced (4409) without a leave, and ICE restarts afterwards', async () => {
    const { alice, bob, traffic } = await aliceCallsBob();
    const stale = server.hub.getPeer('alice')!;
    proxy.cut();
    await until(() => alice.client.state === 'reconnecting', 'alice to notice');
    // The hub still has alice's old connection open: it has heard of no drop.
    expect(server.hub.getPeer('alice')).toBe(stale);
    const resumed = await nextEvent(server.hub, 'peer-resumed', 10_000);
    expect(resumed.previous.id).toBe(stale.id);
    expect(server.hub.getPeer('alice')).not.toBe(stale);

    await restartIce(alice, bob);
    await sleep(200);
    await traffic.stop();
    expect(alice.log).toEqual(['login fresh', 'answer bob', 'close 1006', 'login resumed', 'answer bob']);
    expect(bob.leaves).toEqual([]);
    expect([...alice.closed, ...bob.closed]).toEqual([]);
    expect(hubEvents.left).toEqual([]);
  });

  it('a tutorial-style client (raw ws, no resume) that drops: its partner hears leave within a second, as before', async () => {
    proxy = await startTcpProxy(server.port);
    const tutorial = await TestClient.connect(`ws://127.0.0.1:${proxy.port}/`);
    expect(await tutorial.login('tutorial')).toMatchObject({ success: true });
    const bob = new SignallingClient(server.url, { WebSocket });
    try {
      await bob.login('bob');
      tutorial.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 tutorial' }, name: 'bob' });
      await nextEvent(bob, 'offer');
      bob.answer('tutorial', { type: 'answer', sdp: 'v=0 bob' });
      expect(await tutorial.nextOf('answer')).toMatchObject({ name: 'bob' });

      const left = nextEvent(server.hub, 'peer-left');
      const leave = nextEvent(bob, 'leave', 1000);
      proxy.drop();
      expect(await leave).toEqual({ from: 'tutorial' });
      expect(await left).toMatchObject({ name: 'tutorial', reason: 'closed', code: 1006 });
      expect(hubEvents.dropped).toEqual([]);
    } finally {
      tutorial.close();
      await bob.close();
    }
  });

  it('a SignallingClient with resume: false drops like a tutorial client: its partner hears leave at once', async () => {
    proxy = await startTcpProxy(server.port);
    const classic = new SignallingClient(`ws://127.0.0.1:${proxy.port}/`, { WebSocket, resume: false, reconnectDelay: 2000 });
    const bob = new SignallingClient(server.url, { WebSocket });
    try {
      await Promise.all([classic.login('classic'), bob.login('bob')]);
      classic.offer('bob', { type: 'offer', sdp: 'v=0 classic' });
      await nextEvent(bob, 'offer');
      bob.answer('classic', { type: 'answer', sdp: 'v=0 bob' });
      await nextEvent(classic, 'answer');
      const leave = nextEvent(bob, 'leave', 1000);
      proxy.drop();
      expect(await leave).toEqual({ from: 'classic' });
      expect(hubEvents.dropped).toEqual([]);
      // It still comes back under its name (a fresh login: the hub had ended its session).
      expect(await nextEvent(classic, 'login', 10_000)).toMatchObject({ name: 'classic' });
    } finally {
      await classic.close();
      await bob.close();
    }
  });
});
