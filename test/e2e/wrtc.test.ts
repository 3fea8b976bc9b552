import wrtc from '@roamhq/wrtc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type PeerCloseReason, PeerConnectionManager, SignallingClient } from '../../src/client.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';

/** A logged-in client and its manager, driving real libwebrtc connections. */
interface Peer {
  name: string;
  client: SignallingClient;
  calls: PeerConnectionManager;
  closed: Array<{ peer: string; reason: PeerCloseReason }>;
}

function opened(channel: RTCDataChannel, timeoutMs = 10000): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`channel ${channel.label} did not open`)), timeoutMs);
    channel.addEventListener('open', () => (clearTimeout(timer), resolve()), { once: true });
    channel.addEventListener('close', () => reject(new Error(`channel ${channel.label} closed before opening`)), { once: true });
  });
}

function nextMessage(channel: RTCDataChannel, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${channel.label}`)), timeoutMs);
    channel.addEventListener(
      'message',
      (event) => {
        clearTimeout(timer);
        resolve(String(event.data));
      },
      { once: true },
    );
  });
}

describe('real WebRTC (libwebrtc via @roamhq/wrtc) through the hub', () => {
  let server: HubServer;
  const peers: Peer[] = [];
  /** Every RTCPeerConnection the managers created: all must be closed after each test. */
  const connections: RTCPeerConnection[] = [];
  /**
   * All of them, kept until the file ends: libwebrtc's threads may still call into a closed
   * connection for a moment, and a native object collected meanwhile can crash the process.
   */
  const keptAlive: RTCPeerConnection[] = [];

  beforeAll(async () => {
    server = await startHubServer();
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) {
      peer.calls.close();
      await peer.client.close();
    }
    const open = connections.splice(0).filter((connection) => connection.signalingState !== 'closed');
    expect(open).toHaveLength(0);
  });
  afterAll(async () => {
    await server.close();
    for (const connection of keptAlive) connection.close();
    // Let libwebrtc's threads wind down before the worker process exits.
    await new Promise((resolve) => setTimeout(resolve, 500));
    keptAlive.length = 0;
  });

  async function peer(name: string): Promise<Peer> {
    const client = new SignallingClient(server.url, { WebSocket });
    const calls = new PeerConnectionManager(client, { RTCPeerConnection: wrtc.RTCPeerConnection });
    const created: Peer = { name, client, calls, closed: [] };
    calls.on('connection', ({ connection }) => {
      connections.push(connection);
      keptAlive.push(connection);
    });
    calls.on('closed', (event) => created.closed.push(event));
    peers.push(created);
    await client.login(name);
    return created;
  }

  /** `caller` calls `callee`, both sides get an open "chat" channel. */
  async function connect(caller: Peer, callee: Peer): Promise<{ outgoing: RTCDataChannel; incoming: RTCDataChannel }> {
    const incoming = new Promise<RTCDataChannel>((resolve) => {
      callee.calls.on('datachannel', ({ peer, channel }) => {
        if (peer === caller.name) resolve(channel);
      });
    });
    const outgoing = caller.calls.call(callee.name).createDataChannel('chat');
    const channel = await incoming;
    await Promise.all([opened(outgoing), opened(channel)]);
    return { outgoing, incoming: channel };
  }

  async function exchange(caller: Peer, callee: Peer, outgoing: RTCDataChannel, incoming: RTCDataChannel): Promise<void> {
    const atCallee = nextMessage(incoming);
    outgoing.send(`hello ${callee.name}, this is ${caller.name}`);
    expect(await atCallee).toBe(`hello ${callee.name}, this is ${caller.name}`);
    const atCaller = nextMessage(outgoing);
    incoming.send(`hi ${caller.name}`);
    expect(await atCaller).toBe(`hi ${caller.name}`);
  }

  it('connects two peers: offer, answer, trickled candidates, a data channel both ways, then leave', async () => {
    const alice = await peer('alice');
    const bob = await peer('bob');
    let candidatesToBob = 0;
    let candidatesToAlice = 0;
    bob.client.on('candidate', () => candidatesToBob++);
    alice.client.on('candidate', () => candidatesToAlice++);
    const { outgoing, incoming } = await connect(alice, bob);
    await exchange(alice, bob, outgoing, incoming);
    expect(candidatesToBob).toBeGreaterThan(0);
    expect(candidatesToAlice).toBeGreaterThan(0);
    await until(() => alice.calls.get('bob')?.connectionState === 'connected', 'alice connected');

    const heardLeave = nextEvent(bob.client, 'leave');
    alice.calls.hangUp('bob');
    expect(await heardLeave).toEqual({ from: 'alice' });
    await until(() => bob.closed.length > 0, 'bob to close the call');
    expect(bob.closed).toEqual([{ peer: 'alice', reason: 'leave' }]);
    expect(alice.closed).toEqual([{ peer: 'bob', reason: 'hang-up' }]);
    expect(bob.calls.get('alice')).toBeUndefined();
  });

  it('connects ten calls at once', async () => {
    const pairs = await Promise.all(
      Array.from({ length: 10 }, async (_, index) => [await peer(`caller-${index}`), await peer(`callee-${index}`)] as const),
    );
    await Promise.all(
      pairs.map(async ([caller, callee]) => {
        const { outgoing, incoming } = await connect(caller, callee);
        await exchange(caller, callee, outgoing, incoming);
      }),
    );
    expect(connections).toHaveLength(20);
  });

  it('cleans up when the callee disconnects mid-negotiation: the caller hears leave', async () => {
    const alice = await peer('alice');
    // A callee that drops its connection as soon as the offer arrives, before any answer.
    const bob = new SignallingClient(server.url, { WebSocket });
    await bob.login('bob');
    bob.on('offer', () => void bob.close());
    const closed = nextEvent(alice.calls, 'closed');
    const connection = alice.calls.call('bob');
    connection.createDataChannel('chat');
    expect(await closed).toEqual({ peer: 'bob', reason: 'leave' });
    expect(connection.signalingState).toBe('closed');
    expect(alice.calls.connectedPeers).toEqual([]);
  });

  it('closes a call to a name nobody holds as unreachable', async () => {
    const alice = await peer('alice');
    const closed = nextEvent(alice.calls, 'closed');
    alice.calls.call('nobody').createDataChannel('chat');
    expect(await closed).toEqual({ peer: 'nobody', reason: 'unreachable' });
  });

  it('holds candidates that arrive before the answer until the remote description is set', async () => {
    const alice = await peer('alice');
    // A hand-driven callee that sends all its candidates first and the answer last.
    const bob = new SignallingClient(server.url, { WebSocket });
    await bob.login('bob');
    const raw = new wrtc.RTCPeerConnection();
    connections.push(raw);
    keptAlive.push(raw);
    const incoming = new Promise<RTCDataChannel>((resolve) => (raw.ondatachannel = (event) => resolve(event.channel)));
    const gathered: RTCIceCandidate[] = [];
    const complete = new Promise<void>((resolve) => {
      raw.onicecandidate = (event) => (event.candidate === null ? resolve() : gathered.push(event.candidate));
    });
    bob.on('offer', ({ from, offer }) => {
      void (async () => {
        await raw.setRemoteDescription(offer);
        await raw.setLocalDescription(await raw.createAnswer());
        await complete;
        for (const candidate of gathered) bob.candidate(from, candidate.toJSON());
        bob.answer(from, raw.localDescription!.toJSON());
      })();
    });
    try {
      const outgoing = alice.calls.call('bob').createDataChannel('chat');
      const channel = await incoming;
      await Promise.all([opened(outgoing), opened(channel)]);
      expect(gathered.length).toBeGreaterThan(0);
      const atBob = nextMessage(channel);
      outgoing.send('early candidates worked');
      expect(await atBob).toBe('early candidates worked');
    } finally {
      raw.close();
      await bob.close();
    }
  });

  it('resolves glare: both call each other at once and end with one connection each', async () => {
    const alice = await peer('alice');
    const bob = await peer('bob');
    const atAlice = new Promise<RTCDataChannel>((resolve) => alice.calls.on('datachannel', ({ channel }) => resolve(channel)));
    const atBob = new Promise<RTCDataChannel>((resolve) => bob.calls.on('datachannel', ({ channel }) => resolve(channel)));
    const answers: string[] = [];
    alice.client.on('answer', ({ from }) => answers.push(`${from} answered alice`));
    bob.client.on('answer', ({ from }) => answers.push(`${from} answered bob`));
    const offersCrossed = Promise.all([nextEvent(alice.client, 'offer'), nextEvent(bob.client, 'offer')]);
    const fromAlice = alice.calls.call('bob').createDataChannel('from-alice');
    const fromBob = bob.calls.call('alice').createDataChannel('from-bob');
    // "alice" sorts first, so alice yields: her offer is rolled back and she answers bob's. Her channel
    // survives the rollback and opens over the connection bob's offer set up.
    const [bobsAtAlice, alicesAtBob] = await Promise.all([atAlice, atBob]);
    expect([bobsAtAlice.label, alicesAtBob.label]).toEqual(['from-bob', 'from-alice']);
    await Promise.all([opened(fromAlice), opened(fromBob), opened(bobsAtAlice), opened(alicesAtBob)]);
    await offersCrossed;
    // Only the polite side answered; bob ignored alice's offer.
    expect(answers).toEqual(['alice answered bob']);
    expect(alice.calls.connectedPeers).toEqual(['bob']);
    expect(bob.calls.connectedPeers).toEqual(['alice']);
    expect(alice.closed).toEqual([]);
    expect(bob.closed).toEqual([]);
    const message = nextMessage(alicesAtBob);
    fromAlice.send('no glare here');
    expect(await message).toBe('no glare here');
  });
});
