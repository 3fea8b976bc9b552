/**
 * `signalling-hub/client`: a typed client of the hub's protocol for browsers
 * and Node, and an optional helper that drives one `RTCPeerConnection` per
 * remote peer over it.
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
export type { SignallingClientOptions } from './client/options.js';
export type {
  ClientState,
  CloseEvent,
  IceCandidateInit,
  LoginEvent,
  ReconnectingEvent,
  SessionDescriptionInit,
  SignallingClientEvents,
  WebSocketConstructor,
  WebSocketLike,
} from './client/types.js';
export { LoginError, NotLoggedInError, type LoginErrorReason } from './client/errors.js';
export {
  PeerConnectionManager,
  type PeerCloseReason,
  type PeerConnectionManagerEvents,
  type PeerConnectionManagerOptions,
} from './client/peer-connection-manager.js';
export { SignallingHubError } from './core/errors.js';
export type { ErrorMessage } from './protocol/messages.js';
export { ErrorCode, LoginFailure } from './protocol/error-codes.js';
export { CloseCode } from './protocol/close-codes.js';
