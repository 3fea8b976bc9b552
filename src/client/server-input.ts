import type { EventEmitter } from 'eventemitter3';
import type { IceServer, LoginRefused, LoginSuccess, ServerMessage } from '../protocol/messages.js';
import { type ClientRooms, isRoomFrame } from './rooms.js';
import type { IceCandidateInit, SessionDescriptionInit, SignallingClientEvents } from './types.js';

/**
 * A frame from the hub as a message, or `undefined`: the hub sends JSON text
 * objects only; anything else is not for this client (tutorial clients crash
 * here).
 */
export function serverMessageOf(data: unknown): ServerMessage | undefined {
  if (typeof data !== 'string') return undefined;
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return undefined;
  }
  return typeof message === 'object' && message !== null ? (message as ServerMessage) : undefined;
}

/**
 * `value` when it is an array of ICE servers (each with `urls`: a string or a
 * non-empty array of strings), else `undefined`: a malformed entry would make
 * `RTCPeerConnection` throw.
 */
export function iceServersOf(value: unknown): IceServer[] | undefined {
  const valid =
    Array.isArray(value) &&
    value.every((server: { urls?: unknown } | null) => {
      const urls = [server?.urls].flat();
      return urls.length > 0 && urls.every((url) => typeof url === 'string');
    });
  return valid ? (value as IceServer[]) : undefined;
}

/**
 * Where the hub's messages go: the client's typed events, its rooms and its
 * login (the client's; declared here so that this file does not import it).
 */
export interface ServerInputSink {
  readonly emit: EventEmitter<SignallingClientEvents>['emit'];
  readonly rooms: ClientRooms;
  /** The reply to the login sent. */
  loginReply(reply: LoginSuccess | LoginRefused): void;
  /** Fresh ICE servers the hub pushed. */
  iceServers(servers: IceServer[]): void;
}

/**
 * Turns one frame from the hub into what it means for the client: a typed
 * event, a room's update, a login reply, fresh ICE servers; a frame that is
 * not a JSON object is dropped.
 */
export function receiveServerFrame(sink: ServerInputSink, data: unknown): void {
  const message = serverMessageOf(data);
  if (message === undefined) return;
  if (isRoomFrame(message)) return sink.rooms.receive(message); // rooms
  switch (message.type) {
    case 'login':
      sink.loginReply(message);
      return;
    case 'offer':
      sink.emit('offer', { from: message.name, offer: message.offer as SessionDescriptionInit });
      return;
    case 'answer':
      sink.emit('answer', { from: message.name, answer: message.answer as SessionDescriptionInit });
      return;
    case 'candidate':
      sink.emit('candidate', { from: message.name, candidate: message.candidate as IceCandidateInit | null });
      return;
    case 'leave':
      sink.emit('leave', { from: message.name });
      return;
    case 'error':
      sink.rooms.failed(message.request, message.target, message.code, message.message); // rooms
      sink.emit('error', message);
      return;
    case 'ice-servers': {
      // A malformed push is ignored: the servers in hand stay valid until they expire.
      const servers = iceServersOf(message.iceServers);
      if (servers !== undefined) sink.iceServers(servers);
      return;
    }
    case undefined:
      return;
    default:
      sink.emit('message', message);
  }
}
