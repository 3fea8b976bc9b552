import { encodeRelay } from '../protocol/encode.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { RelayType } from '../protocol/messages.js';
import type { RoomRequestType } from '../protocol/rooms.js';
import { noteWords } from '../protocol/json-scan.js';
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
  /**
   * A well-formed relay that arrived as ASCII text, found by the byte scan in its
   * UTF-8 (the same bytes, one per unit): `scan`'s offsets index `message` as well.
   */
  relayText(message: string, scan: RelayScan): void;
  /** A parsed, checked relay to `target`, its frame built. */
  relayFrame(type: RelayType, target: string, frame: string): void;
  /** A `login` message. */
  loginRequested(fields: Record<string, unknown>): void;
  /** A room message (or `peers`) of a logged-in connection. */
  roomRequested(type: RoomRequestType, fields: Record<string, unknown>): void;
}

/** Reused by every relay that takes the byte path (nothing in between can re-enter it). */
const scanned: RelayScan = {
  type: 'candidate',
  targetStart: 0,
  targetEnd: 0,
  payloadStart: 0,
  payloadEnd: 0,
  standard: false,
};

const utf8 = new TextEncoder();
/** Texts up to this many UTF-16 units are encoded into one reused buffer for the byte scan. */
const TEXT_UNITS = 8192;
// A UTF-16 unit takes at most 3 bytes in UTF-8.
const textScratch = new Uint8Array(3 * TEXT_UNITS);
/** The scratch buffer as words, for the scan's word-at-a-time loops. */
const textWords = new Int32Array(textScratch.buffer);
/** Views of the scratch buffer by length, made once each, so that a relay allocates no view. */
const textViews: Uint8Array[] = [];
/** Lengths up to this keep their view (the relays of a call repeat a few lengths); longer ones get a fresh one. */
const CACHED_VIEWS = 4096;

/**
 * The UTF-8 of a text message (Bun and the dialects hand text over as strings),
 * valid until the next call, so that text takes the same strict byte scan as
 * bytes: one grammar for both. Over 8192 units: `undefined` (left to `JSON.parse`).
 * Encoding is a native call, several times faster than scanning the string's units in JS.
 */
export function textBytes(text: string): Uint8Array | undefined {
  if (text.length > TEXT_UNITS) return undefined;
  const length = utf8.encodeInto(text, textScratch).written;
  const view = length > CACHED_VIEWS ? textScratch.subarray(0, length) : (textViews[length] ??= textScratch.subarray(0, length));
  noteWords(view, textWords);
  return view;
}

/**
 * Parses one inbound message and dispatches it: well-formed relays by the
 * byte scan, without decoding or JSON (the hot path); anything else, errors
 * included, through `JSON.parse`, with a clear `error` for every bad input.
 * For a text `message`, `bytes` is its {@link textBytes} (made here when not given).
 */
export function dispatchInbound(
  sink: InboundSink,
  message: string | Uint8Array,
  maxMessageBytes: number,
  bytes?: Uint8Array,
): void {
  if (typeof message !== 'string') bytes = message;
  else bytes ??= textBytes(message);
  if ((bytes ?? message).length > maxMessageBytes) {
    sink.fail(ErrorCode.MessageTooLarge, `Message too large: the limit is ${maxMessageBytes} bytes`);
    return;
  }
  if (bytes !== undefined && sink.joined && scanRelay(bytes, scanned)) {
    // ASCII text (one byte per unit): the frame is built from the text, so a text transport sends it as it is.
    if (typeof message === 'string' && bytes.length === message.length) sink.relayText(message, scanned);
    else sink.relayBytes(bytes, scanned);
    return;
  }
  parse(sink, typeof message === 'string' ? message : decodeUtf8(message));
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
