import { encodeRelay } from '../protocol/encode.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { RelayType } from '../protocol/messages.js';
import type { RoomRequestType } from '../protocol/rooms.js';
import { type RelayScan, scanRelay } from '../protocol/relay-scan.js';
import { decodeUtf8 } from '../protocol/utf8.js';

/**
 * What inbound parsing hands its results to: the connection. Declared here so
 * that this unit does not import the connection (one class implements it, so
 * every call stays monomorphic).
 */
export interface InboundSink {
  /** Whether the connection is logged in: relays are allowed, and well-formed ones take the byte path. */
  readonly joined: boolean;
  /** The connection's name JSON-encoded, for building relayed frames. */
  readonly nameJson: string;
  /** Replies with an `error`. */
  fail(code: `${ErrorCode}`, message: string, request?: string, target?: string): void;
  /** A well-formed relay found in `message` by the byte scan; `scan` says where its parts lie, until the next message. */
  relayBytes(message: Uint8Array, scan: RelayScan): void;
  /** A parsed, checked relay to `target`, its frame built. */
  relayFrame(type: RelayType, target: string, frame: string): void;
  /** A `login` message. */
  loginRequested(fields: Record<string, unknown>): void;
  /** A room message (or `peers`) of a logged-in connection. */
  roomRequested(type: RoomRequestType, fields: Record<string, unknown>): void;
}

/** Reused by every relay that takes the byte path (nothing in between can re-enter it). */
const scanned: RelayScan = { type: 'candidate', targetStart: 0, targetEnd: 0, payloadStart: 0, payloadEnd: 0 };

/**
 * Parses one inbound message and dispatches it: well-formed relays as bytes,
 * without decoding or JSON (the hot path); anything else, errors included,
 * through `JSON.parse`, with a clear `error` for every bad input.
 */
export function dispatchInbound(sink: InboundSink, message: string | Uint8Array, maxMessageBytes: number): void {
  if (message.length > maxMessageBytes) {
    sink.fail(ErrorCode.MessageTooLarge, `Message too large: the limit is ${maxMessageBytes} bytes`);
    return;
  }
  if (typeof message === 'string') {
    parse(sink, message);
    return;
  }
  if (sink.joined && scanRelay(message, scanned)) {
    sink.relayBytes(message, scanned);
    return;
  }
  parse(sink, decodeUtf8(message));
}

function parse(sink: InboundSink, text: string): void {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    sink.fail(ErrorCode.InvalidJson, 'Invalid JSON: every message must be a JSON object');
    return;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    sink.fail(ErrorCode.InvalidMessage, 'Invalid message: expected a JSON object with a "type"');
    return;
  }
  const fields = message as Record<string, unknown>;
  const type = fields.type;
  switch (type) {
    case 'offer':
    case 'answer':
    case 'candidate':
    case 'leave':
      relay(sink, type, fields);
      return;
    case 'login':
      sink.loginRequested(fields);
      return;
    case 'join':
    case 'part':
    case 'broadcast':
    case 'peers':
      if (sink.joined) sink.roomRequested(type, fields);
      else sink.fail(ErrorCode.NotLoggedIn, `Not logged in: log in before sending ${type}`, type);
      return;
    case undefined:
      sink.fail(ErrorCode.InvalidMessage, 'Invalid message: it has no "type"');
      return;
    default:
      if (typeof type !== 'string') {
        sink.fail(ErrorCode.InvalidMessage, `Invalid message: "type" must be a string, got ${JSON.stringify(type)}`);
        return;
      }
      sink.fail(ErrorCode.UnknownType, `Command not found: ${type}`, type);
  }
}

function relay(sink: InboundSink, type: RelayType, fields: Record<string, unknown>): void {
  if (!sink.joined) {
    sink.fail(ErrorCode.NotLoggedIn, `Not logged in: log in before sending ${type}`, type);
    return;
  }
  const target = fields.name;
  if (typeof target !== 'string') {
    sink.fail(ErrorCode.InvalidMessage, `Invalid ${type}: "name" must be the target peer's name`, type);
    return;
  }
  let payload = '';
  if (type !== 'leave') {
    const value = fields[type];
    if (value === undefined) {
      sink.fail(ErrorCode.InvalidMessage, `Invalid ${type}: the "${type}" field is missing`, type, target);
      return;
    }
    payload = JSON.stringify(value);
  }
  sink.relayFrame(type, target, encodeRelay(type, payload, sink.nameJson));
}
