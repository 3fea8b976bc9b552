import { EventEmitter } from 'eventemitter3';
import { InvalidOptionError, toError } from '../common/errors.js';
import type { ErrorMessage } from '../protocol/messages.js';
import { Mesh } from './mesh.js';
import type { PeerCloseReason, PeerConnectionManagerEvents } from './peer-connection-events.js';
import { type PeerConnectionManagerOptions, resolvePeerConnectionManagerOptions } from './peer-connection-options.js';
import type { SignallingClient } from './signalling-client.js';
import type { IceCandidateInit, SessionDescriptionInit } from './types.js';
import type {
  PeerConnectionConfiguration,
  PeerConnectionConstructor,
  PeerConnectionLike,
  PlatformPeerConnection,
} from './webrtc.js';

interface PeerEntry {
  readonly connection: PeerConnectionLike;
  /** Signalling for this peer, handled one message at a time in arrival order. */
  chain: Promise<void>;
  /** Candidates that arrived before the remote description (at most `maxEarlyCandidates`). */
  readonly early: IceCandidateInit[];
  closed: boolean;
  /** ICE was restarted because the connection failed, and it has not connected since. */
  restarted: boolean;
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
 * Calls outlive the signalling connection: a reconnection, a resume on
 * another node or a server restart closes none of them (only `leave`,
 * `hangUp()`, `close()`, an unreachable peer or a failure do), and when the
 * path between the peers broke meanwhile the manager restarts ICE through the
 * hub (option `iceRestart`).
 *
 * `C` is the connection type: the DOM's `RTCPeerConnection` in a project with
 * the DOM library, that of the `RTCPeerConnection` option when one is given,
 * else the structural {@link PeerConnectionLike}.
 *
 * @example
 * ```ts
 * const calls = new PeerConnectionManager(client);
 * calls.on('datachannel', ({ peer, channel }) => channel.onmessage = (e) => show(peer, e.data));
 * const chat = calls.call('bob').createDataChannel('chat');
 * ```
 */
export class PeerConnectionManager<C extends PeerConnectionLike = PlatformPeerConnection> extends EventEmitter<
  PeerConnectionManagerEvents<C>
> {
  private readonly peers = new Map<string, PeerEntry>();
  private readonly PeerConnection: PeerConnectionConstructor<PeerConnectionLike>;
  private readonly configuration: PeerConnectionConfiguration;
  private readonly maxEarlyCandidates: number;
  private readonly iceRestart: boolean;
  private readonly mesh: Mesh;
  private readonly clientListeners: {
    offer: (event: { from: string; offer: SessionDescriptionInit }) => void;
    answer: (event: { from: string; answer: SessionDescriptionInit }) => void;
    candidate: (event: { from: string; candidate: IceCandidateInit | null }) => void;
    leave: (event: { from: string }) => void;
    error: (error: ErrorMessage) => void;
    'ice-servers': () => void;
    login: () => void;
  };

  constructor(
    /** The client the signalling goes through. */
    readonly client: SignallingClient,
    options: PeerConnectionManagerOptions<C> = {},
  ) {
    super();
    const resolved = resolvePeerConnectionManagerOptions(options);
    const PeerConnection =
      resolved.RTCPeerConnection ??
      (globalThis as { RTCPeerConnection?: PeerConnectionConstructor<PeerConnectionLike> }).RTCPeerConnection;
    if (PeerConnection === undefined) {
      throw new InvalidOptionError(
        'RTCPeerConnection',
        'an RTCPeerConnection class (this environment has none: pass one, e.g. from @roamhq/wrtc)',
        'undefined',
      );
    }
    this.PeerConnection = PeerConnection;
    this.configuration = resolved.configuration;
    this.maxEarlyCandidates = resolved.maxEarlyCandidates;
    this.iceRestart = resolved.iceRestart;
    this.clientListeners = {
      offer: ({ from, offer }) => this.onOffer(from, offer),
      answer: ({ from, answer }) => this.enqueue(from, (entry) => this.onAnswer(entry, answer)),
      candidate: ({ from, candidate }) => this.enqueue(from, (entry) => this.onCandidate(entry, candidate)),
      leave: ({ from }) => this.closePeer(from, 'leave'),
      error: ({ code, target, request }) => {
        const entry = this.peers.get(target!);
        if ((code !== 'peer-not-found' && code !== 'peer-gone') || entry === undefined || request === 'leave') return;
        if (entry.connection.connectionState !== 'connected') return this.closePeer(target!, 'unreachable');
        // Connected peer to peer: the peer's signalling is away (a server that restarted and forgot it), not the
        // call. An offer it will never answer is taken back, so that a later one (an ICE restart) can go.
        if (request === 'offer') {
          this.enqueue(target!, async ({ connection }) => {
            if (connection.signalingState === 'have-local-offer') await connection.setLocalDescription({ type: 'rollback' });
          });
        }
      },
      'ice-servers': () => this.refreshIceServers(),
      // Logged in again after a reconnection: mend the paths that broke meanwhile.
      login: () => {
        for (const [peer, { connection }] of this.peers) {
          const state = connection.iceConnectionState ?? connection.connectionState;
          if (this.iceRestart && (state === 'disconnected' || state === 'failed')) this.restartIce(peer);
        }
      },
    };
    this.mesh = new Mesh(client, this, resolved.maxMeshSize);
    const on = this.clientListeners;
    client
      .on('offer', on.offer)
      .on('answer', on.answer)
      .on('candidate', on.candidate)
      .on('leave', on.leave)
      .on('error', on.error)
      .on('ice-servers', on['ice-servers'])
      .on('login', on.login);
  }

  /** The connection to `peer`, if there is one. */
  get(peer: string): C | undefined {
    return this.peers.get(peer)?.connection as C | undefined;
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
  call(peer: string): C {
    const existing = this.peers.get(peer);
    if (existing !== undefined) return existing.connection as C;
    const entry = this.open(peer, true);
    this.enqueue(peer, async () => {
      const connection = entry.connection;
      await connection.setLocalDescription(await connection.createOffer());
      if (!entry.closed) this.client.offer(peer, description(connection));
    });
    return entry.connection as C;
  }

  /**
   * Restarts ICE with `peer` through the hub: sends a new offer with
   * `iceRestart`, so both sides gather candidates afresh with new credentials
   * (and the hub's current ICE servers) and pick a new path, e.g. after a
   * network change. The call and its channels stay open meanwhile. Nothing
   * happens while an offer is already outstanding. Returns whether there is a
   * connection to `peer`.
   */
  restartIce(peer: string): boolean {
    if (!this.peers.has(peer)) return false;
    this.enqueue(peer, async (entry) => {
      const connection = entry.connection;
      if (connection.signalingState !== 'stable') return;
      await connection.setLocalDescription(await connection.createOffer({ iceRestart: true }));
      if (!entry.closed) this.client.offer(peer, description(connection));
    });
    return true;
  }

  /**
   * Joins `room` for a mesh call: calls every member found there (they
   * answer), answers those who join later, and hangs up on those who part.
   * Resolves with the other members; rejects with a `RoomError` when the hub
   * refuses, or a `MeshFullError` (after parting again) when the room has
   * more than `maxMeshSize` members. After a fresh login the client joins
   * again by itself and every call of the room is placed afresh (its members
   * heard this peer part and hung up).
   * Add tracks and data channels in `connection` listeners (the caller's
   * side creates the data channels: `initiator: true`).
   */
  joinRoom(room: string): Promise<string[]> {
    return this.mesh.join(room);
  }

  /**
   * Parts `room` and hangs up on its members (those who share no other mesh
   * room). The promise is the client's `part()`.
   */
  partRoom(room: string): Promise<void> {
    return this.mesh.part(room);
  }

  /** The rooms joined with {@link joinRoom}. */
  get meshRooms(): string[] {
    return this.mesh.joined;
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
    this.mesh.close();
    const on = this.clientListeners;
    this.client.off('offer', on.offer).off('answer', on.answer).off('candidate', on.candidate).off('leave', on.leave);
    this.client.off('error', on.error).off('ice-servers', on['ice-servers']).off('login', on.login);
  }

  /** The configuration for a connection now: `configuration.iceServers` followed by the hub's current ones. */
  private currentConfiguration(): PeerConnectionConfiguration {
    const fromHub = this.client.iceServers;
    if (fromHub === undefined) return this.configuration;
    return { ...this.configuration, iceServers: [...(this.configuration.iceServers ?? []), ...fromHub] };
  }

  /**
   * Gives live connections the hub's fresh servers, for what they gather from
   * now on (an ICE restart, a new network). A connection that refuses
   * (`setConfiguration()` throws in some implementations) keeps its servers;
   * the failure is reported on `error` and the call goes on.
   */
  private refreshIceServers(): void {
    const configuration = this.currentConfiguration();
    for (const [peer, entry] of this.peers) {
      try {
        entry.connection.setConfiguration?.(configuration);
      } catch (error) {
        this.emit('error', { peer, error: toError(error) });
      }
    }
  }

  private open(peer: string, initiator: boolean): PeerEntry {
    const connection = new this.PeerConnection(this.currentConfiguration());
    const entry: PeerEntry = { connection, chain: Promise.resolve(), early: [], closed: false, restarted: false };
    // The events carry the connection's own types (C), which the structural ones stand for here.
    const emit = this.emit.bind(this) as (event: keyof PeerConnectionManagerEvents<C>, payload: object) => boolean;
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
    connection.ondatachannel = (event) => emit('datachannel', { peer, channel: event.channel });
    connection.ontrack = (event) => emit('track', { peer, track: event.track, streams: event.streams });
    connection.onconnectionstatechange = () => {
      if (entry.closed) return;
      const state = connection.connectionState;
      emit('state', { peer, state });
      if (state === 'connected') entry.restarted = false;
      if (state !== 'failed') return;
      // Once per failure, while the client can still reach the hub: ICE may find another path.
      const signalling = this.client.state;
      if (!this.iceRestart || entry.restarted || signalling === 'closed' || signalling === 'idle') this.closePeer(peer, 'failed');
      else {
        entry.restarted = true;
        this.restartIce(peer);
      }
    };
    emit('connection', { peer, connection, initiator });
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
      if (!entry.closed) this.client.answer(from, description(connection));
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
    if (entry.connection.remoteDescription === null) {
      if (entry.early.length < this.maxEarlyCandidates) entry.early.push(candidate);
    } else await entry.connection.addIceCandidate(candidate);
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

/** The local description to send: `type` and `sdp` (what `toJSON()` gives, without relying on it). */
function description(connection: PeerConnectionLike): SessionDescriptionInit {
  const { type, sdp } = connection.localDescription!;
  return { type, sdp };
}
