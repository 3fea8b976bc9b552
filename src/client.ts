/**
 * `signalling-hub/client`: a typed client of the hub's protocol for browsers
 * and Node, and an optional helper that drives one `RTCPeerConnection` per
 * remote peer over it. Its types need no DOM library: the WebRTC objects are
 * declared structurally ({@link PeerConnectionLike}…), and with the DOM
 * library loaded the manager hands back the DOM's own types.
 *
 * @example
 * ```ts
 * import { SignallingClient, PeerConnectionManager } from 'signalling-hub/client';
 *
 * const client = new SignallingClient('wss://example.com/');
 * await client.login('alice');
 * const calls = new PeerConnectionManager(client);
 * calls.on('datachannel', ({ channel }) => (channel.onmessage = (e) => console.log(e.data)));
 * const chat = calls.call('bob').createDataChannel('chat');
 * chat.onopen = () => chat.send('hello');
 * ```
 * @module
 */
export { SignallingClient } from './client/signalling-client.js';
export {
  clientDefaults,
  type ResolvedClientOptions,
  type SendRateOptions,
  type SignallingClientOptions,
} from './client/options.js';
export type {
  ClientState,
  CloseEvent,
  Credentials,
  CredentialsRequest,
  CredentialsSource,
  DroppedEvent,
  IceCandidateInit,
  IceServersEvent,
  LoginEvent,
  ReconnectingEvent,
  RoomJoinedEvent,
  RoomPartedEvent,
  MemberEvent,
  BroadcastEvent,
  SessionDescriptionInit,
  SignallingClientEvents,
  TransportEvent,
  WebSocketConstructor,
  WebSocketLike,
} from './client/types.js';
export { LoginError, NotLoggedInError, RoomError, type LoginErrorReason } from './client/errors.js';
export { MeshFullError, type RoomErrorCode } from './client/room-errors.js';
export {
  HttpSocket,
  type HttpSocketFetch,
  type HttpSocketOptions,
  type HttpSocketRequestInit,
  type HttpSocketResponse,
  type HttpSocketTransport,
} from './client/http-socket.js';
export { PeerConnectionManager } from './client/peer-connection-manager.js';
export type { PeerCloseReason, PeerConnectionManagerEvents } from './client/peer-connection-events.js';
export {
  peerConnectionManagerDefaults,
  type PeerConnectionManagerOptions,
  type ResolvedPeerConnectionManagerOptions,
} from './client/peer-connection-options.js';
export type {
  DataChannelInit,
  DataChannelLike,
  DataChannelOf,
  EventHandler,
  IceCandidateLike,
  MediaStreamLike,
  MediaStreamTrackLike,
  OfferOptions,
  PeerConnectionConfiguration,
  PeerConnectionConstructor,
  PeerConnectionLike,
  PlatformPeerConnection,
  SessionDescriptionLike,
  TrackEventOf,
} from './client/webrtc.js';
export { InvalidArgumentError, InvalidOptionError, SignallingHubError } from './common/errors.js';
export type { SignallingHubErrorCode } from './error-codes.js';
export type { ErrorMessage, IceServer } from './protocol/messages.js';
export { ErrorCode, LoginFailure } from './protocol/error-codes.js';
export { CloseCode } from './protocol/close-codes.js';
