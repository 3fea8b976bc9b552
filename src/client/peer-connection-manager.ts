import { EventEmitter } from 'eventemitter3';
import { toError } from '../core/errors.js';
import type { ErrorMessage } from '../protocol/messages.js';
import type { SignallingClient } from './signalling-client.js';
import type { IceCandidateInit, SessionDescriptionInit } from './types.js';

/** Why a peer's connection was closed. */
export type PeerCloseReason =
  /** The peer sent `leave`, or its signalling connection closed. */
  | 'leave'
  /** This side called `hangUp()`. */
  | 'hang-up'
  /** The connection reached `failed`, or negotiation threw. */
  | 'failed'
  /** The hub answered `peer-not-found`: the peer is not logged in. */
  | 'unreachable'
  /** `close()` closed every connection. */
  | 'closed';

/** Events of {@link PeerConnectionManager}, typed for `manager.on()`. */
export interface PeerConnectionManagerEvents {
  /**
   * A connection to `peer` was created, by `call()` (`initiator: true`) or
   * for an incoming offer. Listeners run before negotiation starts: add
   * tracks and data channels here.
   */
  connection: (event: { peer: string; connection: RTCPeerConnection; initiator: boolean }) => void;
  /** The remote peer opened a data channel. */
  datachannel: (event: { peer: string; channel: RTCDataChannel }) => void;
  /** A remote media track arrived. */
  track: (event: { peer: string; track: MediaStreamTrack; streams: readonly MediaStream[] }) => void;
  /** The connection's `connectionState` changed. */
  state: (event: { peer: string; state: RTCPeerConnectionState }) => void;
  /** The connection to `peer` was closed and forgotten. */
  closed: (event: { peer: string; reason: PeerCloseReason }) => void;
  /** Negotiation with `peer` failed; the connection is closed with reason `failed`. */
  error: (event: { peer: string; error: Error }) => void;
}

/** Options of {@link PeerConnectionManager}. */
export interface PeerConnectionManagerOptions {
  /**
   * The `RTCPeerConnection` class, e.g. `RTCPeerConnection` from `@roamhq/wrtc` in Node.
   * @default globalThis.RTCPeerConnection
   */
  RTCPeerConnection?: new (configuration?: RTCConfiguration) => RTCPeerConnection;
  /**
   * Configuration of every connection (ICE servers…).
   * @default {}
   */
  configuration?: RTCConfiguration;
}

interface PeerEntry {
  readonly connection: RTCPeerConnection;
  /** Signalling for this peer, handled one message at a time in arrival order. */
  chain: Promise<void>;
  /** Candidates that arrived before the remote description. */
  readonly early: RTCIceCandidateInit[];
  closed: boolean;
}

/**
 * Drives one `RTCPeerConnection` per remote peer over a {@link SignallingClient}:
 * creates the offer for `call()`, answers incoming offers, trickles candidates
 * both ways (holding those that arrive before the remote description), and
 * closes the connection when the peer leaves.
 *
 * When both sides call each other at once, the side whose name sorts first
 * rolls its own offer back and answers ("perfect negotiation").
 *
 * @example
 * ```ts
 * const calls = new PeerConnectionManager(client);
 * calls.on('datachannel', ({ peer, channel }) => channel.onmessage = (e) => show(peer, e.data));
 * const chat = calls.call('bob').createDataChannel('chat');
 * ```
 */
export class PeerConnectionManager extends EventEmitter<PeerConnectionManagerEvents> {
  private readonly peers = new Map<string, PeerEntry>();
  private readonly PeerConnection: new (configuration?: RTCConfiguration) => RTCPeerConnection;
  private readonly configuration: RTCConfiguration;
  private readonly clientListeners: {
    offer: (event: { from: string; offer: SessionDescriptionInit }) => void;
    answer: (event: { from: string; answer: SessionDescriptionInit }) => void;
    candidate: (event: { from: string; candidate: IceCandidateInit | null }) => void;
    leave: (event: { from: string }) => void;
    error: (error: ErrorMessage) => void;
  };

  constructor(
    /** The client the signalling goes through. */
    readonly client: SignallingClient,
    options: PeerConnectionManagerOptions = {},
  ) {
    super();
    const PeerConnection = options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    if (PeerConnection === undefined) {
      throw new TypeError('No RTCPeerConnection: pass the RTCPeerConnection option (e.g. from @roamhq/wrtc)');
    }
    this.PeerConnection = PeerConnection;
    this.configuration = options.configuration ?? {};
    this.clientListeners = {
      offer: ({ from, offer }) => this.onOffer(from, offer),
      answer: ({ from, answer }) => this.enqueue(from, (entry) => this.onAnswer(entry, answer)),
      candidate: ({ from, candidate }) => this.enqueue(from, (entry) => this.onCandidate(entry, candidate)),
      leave: ({ from }) => this.closePeer(from, 'leave'),
      error: (error) => {
        if (error.code === 'peer-not-found' && error.target !== undefined && error.request !== 'leave') {
          this.closePeer(error.target, 'unreachable');
        }
      },
    };
    const on = this.clientListeners;
    client
      .on('offer', on.offer)
      .on('answer', on.answer)
      .on('candidate', on.candidate)
      .on('leave', on.leave)
      .on('error', on.error);
  }

  /** The connection to `peer`, if there is one. */
  get(peer: string): RTCPeerConnection | undefined {
    return this.peers.get(peer)?.connection;
  }

  /** Names of the peers with a connection. */
  get connectedPeers(): string[] {
    return [...this.peers.keys()];
  }

  /**
   * Calls `peer`: creates a connection and sends it an offer. The offer is
   * created after the current task's synchronous code, so data channels and
   * tracks added to the returned connection (or in `connection` listeners)
   * are part of it. Calling a peer that already has a connection returns it.
   */
  call(peer: string): RTCPeerConnection {
    const existing = this.peers.get(peer);
    if (existing !== undefined) return existing.connection;
    const entry = this.open(peer, true);
    this.enqueue(peer, async () => {
      const connection = entry.connection;
      await connection.setLocalDescription(await connection.createOffer());
      if (!entry.closed) this.client.offer(peer, connection.localDescription!.toJSON() as SessionDescriptionInit);
    });
    return entry.connection;
  }

  /** Ends the call with `peer`: tells it `leave` and closes the connection. */
  hangUp(peer: string): void {
    if (!this.peers.has(peer)) return;
    this.tell(peer);
    this.closePeer(peer, 'hang-up');
  }

  /** Hangs up every call and stops listening to the client. The client stays open. */
  close(): void {
    for (const peer of [...this.peers.keys()]) {
      this.tell(peer);
      this.closePeer(peer, 'closed');
    }
    const on = this.clientListeners;
    this.client.off('offer', on.offer).off('answer', on.answer).off('candidate', on.candidate).off('leave', on.leave);
    this.client.off('error', on.error);
  }

  private open(peer: string, initiator: boolean): PeerEntry {
    const connection = new this.PeerConnection(this.configuration);
    const entry: PeerEntry = { connection, chain: Promise.resolve(), early: [], closed: false };
    this.peers.set(peer, entry);
    connection.onicecandidate = (event) => {
      const candidate = event.candidate;
      // A null candidate means "gathering finished"; the tutorial protocol has no message for it.
      if (candidate === null || entry.closed) return;
      this.send(peer, () =>
        this.client.candidate(peer, {
          candidate: candidate.candidate,
          sdpMid: candidate.sdpMid,
          sdpMLineIndex: candidate.sdpMLineIndex,
          usernameFragment: candidate.usernameFragment,
        }),
      );
    };
    connection.ondatachannel = (event) => this.emit('datachannel', { peer, channel: event.channel });
    connection.ontrack = (event) => this.emit('track', { peer, track: event.track, streams: event.streams });
    connection.onconnectionstatechange = () => {
      if (entry.closed) return;
      const state = connection.connectionState;
      this.emit('state', { peer, state });
      if (state === 'failed') this.closePeer(peer, 'failed');
    };
    this.emit('connection', { peer, connection, initiator });
    return entry;
  }

  private onOffer(from: string, offer: SessionDescriptionInit): void {
    const entry = this.peers.get(from) ?? this.open(from, false);
    this.enqueue(from, async () => {
      const connection = entry.connection;
      if (connection.signalingState !== 'stable') {
        // Glare: both sides offered. The name sorting first yields; the other ignores this offer.
        const polite = (this.client.name ?? '') < from;
        if (!polite) return;
        await connection.setLocalDescription({ type: 'rollback' });
      }
      await connection.setRemoteDescription(offer);
      await this.flushEarly(entry);
      await connection.setLocalDescription(await connection.createAnswer());
      if (!entry.closed) this.client.answer(from, connection.localDescription!.toJSON() as SessionDescriptionInit);
    });
  }

  private async onAnswer(entry: PeerEntry, answer: SessionDescriptionInit): Promise<void> {
    // An answer to an offer this side rolled back, or a duplicate: nothing to apply it to.
    if (entry.connection.signalingState !== 'have-local-offer') return;
    await entry.connection.setRemoteDescription(answer);
    await this.flushEarly(entry);
  }

  private async onCandidate(entry: PeerEntry, candidate: IceCandidateInit | null): Promise<void> {
    if (candidate === null) return;
    if (entry.connection.remoteDescription === null) entry.early.push(candidate);
    else await entry.connection.addIceCandidate(candidate);
  }

  private async flushEarly(entry: PeerEntry): Promise<void> {
    for (const candidate of entry.early.splice(0)) {
      if (entry.closed) return;
      await entry.connection.addIceCandidate(candidate);
    }
  }

  /** Runs `step` after the peer's earlier signalling; a failure closes the connection. */
  private enqueue(peer: string, step: (entry: PeerEntry) => Promise<void>): void {
    const entry = this.peers.get(peer);
    if (entry === undefined) return;
    entry.chain = entry.chain.then(async () => {
      if (entry.closed) return;
      try {
        await step(entry);
      } catch (error) {
        if (entry.closed) return;
        this.emit('error', { peer, error: toError(error) });
        this.tell(peer);
        this.closePeer(peer, 'failed');
      }
    });
  }

  /** Sends through the client; a client that can no longer send fails the call. */
  private send(peer: string, sendIt: () => void): void {
    try {
      sendIt();
    } catch (error) {
      this.emit('error', { peer, error: toError(error) });
      this.closePeer(peer, 'failed');
    }
  }

  /** Tells `peer` `leave`, if the client can still send. */
  private tell(peer: string): void {
    try {
      this.client.leave(peer);
    } catch {
      // Not logged in: the hub has already told the peer, or will when the connection's loss is noticed.
    }
  }

  private closePeer(peer: string, reason: PeerCloseReason): void {
    const entry = this.peers.get(peer);
    if (entry === undefined) return;
    entry.closed = true;
    this.peers.delete(peer);
    entry.connection.close();
    this.emit('closed', { peer, reason });
  }
}
