/*
 * The part of WebRTC that PeerConnectionManager uses, declared structurally
 * so that `signalling-hub/client` type-checks without the DOM library. The
 * browser's classes (and those of `@roamhq/wrtc`) fit these shapes; with the
 * DOM library loaded, the manager hands back the DOM's own types.
 */
import type { IceServer } from '../protocol/messages.js';
import type { IceCandidateInit, SessionDescriptionInit } from './types.js';

/**
 * An event handler property. Bivariant in its event, so that the DOM's
 * handlers, which take richer event objects, fit.
 */
export type EventHandler<E> = { bivarianceHack(event: E): void }['bivarianceHack'] | null;

/** A session description as a connection holds it: the shape of the DOM's `RTCSessionDescription`. */
export interface SessionDescriptionLike {
  readonly type: SessionDescriptionInit['type'];
  readonly sdp: string;
}

/** A gathered ICE candidate: the shape of the DOM's `RTCIceCandidate`. */
export interface IceCandidateLike {
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
  readonly usernameFragment: string | null;
}

/** A media track: the part of the DOM's `MediaStreamTrack` the manager passes on. */
export interface MediaStreamTrackLike {
  readonly id: string;
  readonly kind: string;
}

/** A media stream: the part of the DOM's `MediaStream` the manager passes on. */
export interface MediaStreamLike {
  readonly id: string;
}

/** Options of `createDataChannel()`: the DOM's `RTCDataChannelInit`. */
export interface DataChannelInit {
  ordered?: boolean;
  maxPacketLifeTime?: number;
  maxRetransmits?: number;
  protocol?: string;
  negotiated?: boolean;
  id?: number;
}

/** A data channel: the common part of the DOM's `RTCDataChannel`. */
export interface DataChannelLike {
  readonly label: string;
  readonly readyState: string;
  send(data: string): void;
  close(): void;
  onopen: EventHandler<unknown>;
  onclose: EventHandler<unknown>;
  onmessage: EventHandler<{ readonly data: unknown }>;
}

/** Options of `createOffer()`: the part of the DOM's `RTCOfferOptions` the manager uses. */
export interface OfferOptions {
  /** Gather afresh with new ICE credentials: an ICE restart. */
  iceRestart?: boolean;
}

/** Configuration of a connection: the common part of the DOM's `RTCConfiguration`. */
export interface PeerConnectionConfiguration {
  iceServers?: IceServer[];
  iceTransportPolicy?: 'all' | 'relay';
  bundlePolicy?: 'balanced' | 'max-bundle' | 'max-compat';
  iceCandidatePoolSize?: number;
}

/**
 * The part of an `RTCPeerConnection` that {@link PeerConnectionManager} uses
 * (and `createDataChannel()`, for the caller). The browser's class and the
 * one of `@roamhq/wrtc` fit it.
 */
export interface PeerConnectionLike {
  readonly signalingState: string;
  readonly connectionState: string;
  /** Optional: without it, `connectionState` tells when ICE needs a restart. */
  readonly iceConnectionState?: string;
  readonly localDescription: SessionDescriptionLike | null;
  readonly remoteDescription: SessionDescriptionLike | null;
  onicecandidate: EventHandler<{ readonly candidate: IceCandidateLike | null }>;
  ondatachannel: EventHandler<{ readonly channel: DataChannelLike }>;
  ontrack: EventHandler<{ readonly track: MediaStreamTrackLike; readonly streams: readonly MediaStreamLike[] }>;
  onconnectionstatechange: EventHandler<unknown>;
  createOffer(options?: OfferOptions): Promise<SessionDescriptionInit>;
  createAnswer(): Promise<SessionDescriptionInit>;
  setLocalDescription(description?: SessionDescriptionInit): Promise<void>;
  setRemoteDescription(description: SessionDescriptionInit): Promise<void>;
  addIceCandidate(candidate: IceCandidateInit): Promise<void>;
  createDataChannel(label: string, init?: DataChannelInit): DataChannelLike;
  /** Optional: without it, live connections keep the ICE servers they were created with. */
  setConfiguration?(configuration: PeerConnectionConfiguration): void;
  close(): void;
}

/** An `RTCPeerConnection` class. */
export type PeerConnectionConstructor<C extends PeerConnectionLike = PeerConnectionLike> = new (
  configuration?: PeerConnectionConfiguration,
) => C;

/**
 * The environment's `RTCPeerConnection` type: the DOM's when the DOM library
 * is loaded, else {@link PeerConnectionLike}.
 */
export type PlatformPeerConnection = typeof globalThis extends { RTCPeerConnection: new (...args: never[]) => infer P }
  ? P extends PeerConnectionLike
    ? P
    : PeerConnectionLike
  : PeerConnectionLike;

/** The event a handler property of `C` takes. */
type EventOf<H> = H extends (event: infer E) => unknown ? E : never;

/** The data channel type of connections of type `C` (`RTCDataChannel` for the DOM's). */
export type DataChannelOf<C extends PeerConnectionLike> = EventOf<C['ondatachannel']>['channel'];
/** The track event of connections of type `C` (`RTCTrackEvent` for the DOM's). */
export type TrackEventOf<C extends PeerConnectionLike> = EventOf<C['ontrack']>;
