import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  type IceCandidateInit,
  type PeerConnectionLike,
  PeerConnectionManager,
  type SessionDescriptionInit,
  SignallingClient,
} from '../../src/client.js';
import { until } from '../helpers/events.js';
import { startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

/**
 * A stand-in for RTCPeerConnection that follows the offer/answer state machine and records what
 * the manager does to it; no media, no ICE.
 */
class FakePeerConnection implements PeerConnectionLike {
  static readonly created: FakePeerConnection[] = [];
  signalingState = 'stable';
  connectionState = 'new';
  localDescription: { type: SessionDescriptionInit['type']; sdp: string; toJSON(): SessionDescriptionInit } | null = null;
  remoteDescription: { type: SessionDescriptionInit['type']; sdp: string } | null = null;
  onicecandidate: PeerConnectionLike['onicecandidate'] = null;
  ondatachannel: PeerConnectionLike['ondatachannel'] = null;
  ontrack: PeerConnectionLike['ontrack'] = null;
  onconnectionstatechange: PeerConnectionLike['onconnectionstatechange'] = null;
  readonly added: string[] = [];

  constructor() {
    FakePeerConnection.created.push(this);
  }
  createOffer(): Promise<SessionDescriptionInit> {
    return Promise.resolve({ type: 'offer', sdp: 'fake offer' });
  }
  createAnswer(): Promise<SessionDescriptionInit> {
    return Promise.resolve({ type: 'answer', sdp: 'fake answer' });
  }
  setLocalDescription(description?: SessionDescriptionInit): Promise<void> {
    const { type, sdp = '' } = description!;
    // With toJSON(), like the DOM's RTCSessionDescription.
    this.localDescription = { type, sdp, toJSON: () => ({ type, sdp }) };
    this.signalingState = type === 'offer' ? 'have-local-offer' : 'stable';
    return Promise.resolve();
  }
  setRemoteDescription(description: SessionDescriptionInit): Promise<void> {
    this.remoteDescription = { type: description.type, sdp: description.sdp ?? '' };
    this.signalingState = description.type === 'offer' ? 'have-remote-offer' : 'stable';
    return Promise.resolve();
  }
  addIceCandidate(candidate: IceCandidateInit): Promise<void> {
    if (this.remoteDescription === null) return Promise.reject(new Error('addIceCandidate before the remote description'));
    this.added.push(candidate.candidate!);
    return Promise.resolve();
  }
  createDataChannel(): never {
    throw new Error('not in this fake');
  }
  close(): void {
    this.signalingState = 'closed';
  }
}

describe('PeerConnectionManager: early candidates are bounded per peer', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    FakePeerConnection.created.length = 0;
  });

  async function setUp(maxEarlyCandidates?: number) {
    // No rate limit: bob floods on purpose.
    const server = await startHubServer({ rateLimit: false });
    cleanups.push(() => server.close());
    const alice = new SignallingClient(server.url, { WebSocket });
    cleanups.push(() => alice.close());
    const calls = new PeerConnectionManager(alice, {
      RTCPeerConnection: FakePeerConnection,
      ...(maxEarlyCandidates === undefined ? {} : { maxEarlyCandidates }),
    });
    cleanups.push(() => calls.close());
    await alice.login('alice');
    const bob = await TestClient.connect(server.url);
    cleanups.push(() => bob.close());
    expect(await bob.login('bob')).toMatchObject({ success: true });
    return { alice, calls, bob };
  }

  /** Alice calls bob; bob sends `count` candidates, then the answer, then one candidate `late`. */
  async function floodBeforeAnswer(calls: PeerConnectionManager<FakePeerConnection>, bob: TestClient, count: number) {
    calls.call('bob');
    expect(await bob.nextOf('offer')).toMatchObject({ offer: { type: 'offer', sdp: 'fake offer' }, name: 'alice' });
    const connection = FakePeerConnection.created[0]!;
    for (let i = 0; i < count; i++) {
      bob.send({ type: 'candidate', candidate: { candidate: `early-${i}`, sdpMid: '0', sdpMLineIndex: 0 }, name: 'alice' });
    }
    bob.send({ type: 'answer', answer: { type: 'answer', sdp: 'fake answer' }, name: 'alice' });
    bob.send({ type: 'candidate', candidate: { candidate: 'late', sdpMid: '0', sdpMLineIndex: 0 }, name: 'alice' });
    // Signalling for one peer is handled in order: once `late` is added, every held candidate was.
    await until(() => connection.added.includes('late'), 'the candidate after the answer', 30_000);
    return connection;
  }

  it('holds at most 256 of 50,000 candidates sent before the answer, keeping the first ones', async () => {
    const { alice, calls, bob } = await setUp();
    let arrived = 0;
    alice.on('candidate', () => arrived++);
    const connection = await floodBeforeAnswer(calls, bob, 50_000);
    // Every one reached alice's client (the hub dropped none): the bound is the manager's.
    expect(arrived).toBe(50_001);
    expect(bob.inbox.filter((frame) => frame.type === 'error')).toEqual([]);
    expect(connection.remoteDescription).toEqual({ type: 'answer', sdp: 'fake answer' });
    expect(connection.added).toHaveLength(257);
    expect(connection.added).toEqual([...Array.from({ length: 256 }, (_, i) => `early-${i}`), 'late']);
    expect(calls.connectedPeers).toEqual(['bob']);
  });

  it('takes the bound from maxEarlyCandidates', async () => {
    const { calls, bob } = await setUp(3);
    const connection = await floodBeforeAnswer(calls, bob, 10);
    expect(connection.added).toEqual(['early-0', 'early-1', 'early-2', 'late']);
  });
});
