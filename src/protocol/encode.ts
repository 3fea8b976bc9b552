import type { ErrorCode, LoginFailure } from './error-codes.js';
import type { IceServer, RelayType } from './messages.js';

/*
 * Outgoing frames are built by concatenation: the fixed parts are constants and
 * the sender's name is JSON-encoded once at login, so a relay stringifies only
 * its payload.
 */

const relayPrefix: Record<RelayType, string> = {
  offer: '{"type":"offer","offer":',
  answer: '{"type":"answer","answer":',
  candidate: '{"type":"candidate","candidate":',
  leave: '',
};

/**
 * The frame a target receives for a relay. `senderJson` is the sender's name
 * already JSON-encoded; `payloadJson` is the relayed value's JSON (unused for leave).
 */
export function encodeRelay(type: RelayType, payloadJson: string, senderJson: string): string {
  if (type === 'leave') return encodeLeave(senderJson);
  return relayPrefix[type] + payloadJson + ',"name":' + senderJson + '}';
}

const utf8 = new TextEncoder();

/** The start of a relayed frame up to its payload, as UTF-8; also the shape the relay scanner matches whole. */
export const relayPrefixBytes: Record<Exclude<RelayType, 'leave'>, Uint8Array> = {
  offer: utf8.encode(relayPrefix.offer),
  answer: utf8.encode(relayPrefix.answer),
  candidate: utf8.encode(relayPrefix.candidate),
};

/** `,"name":<sender>}`: what follows the payload in a relayed frame. */
export function encodeRelaySuffixText(senderJson: string): string {
  return ',"name":' + senderJson + '}';
}

/** {@link encodeRelaySuffixText} as UTF-8. */
export function encodeRelaySuffix(senderJson: string): Uint8Array {
  return utf8.encode(encodeRelaySuffixText(senderJson));
}

/** Reused by every {@link encodeRelayBytes}: its result is read before the next call. */
let scratch = new Uint8Array(1024);
/** Views of `scratch` by length, made once each: the relays of a call repeat a few lengths, and a view per relay is garbage. */
let views: Uint8Array[] = [];
const CACHED_VIEWS = 4096;

/**
 * The frame a target receives for a relay taken by the fast path, as UTF-8: the payload's raw
 * bytes (`source` from `start` to `end`) between the constant prefix and the sender's
 * {@link encodeRelaySuffix}. No decoding, no JSON. `standard`: `source` begins with the prefix
 * (`RelayScan.standard`). The result is valid only until the next call.
 */
export function encodeRelayBytes(
  type: Exclude<RelayType, 'leave'>,
  source: Uint8Array,
  start: number,
  end: number,
  suffix: Uint8Array,
  standard = false,
): Uint8Array {
  const prefix = relayPrefixBytes[type];
  const payloadAt = prefix.length;
  const suffixAt = payloadAt + end - start;
  const length = suffixAt + suffix.length;
  if (length > scratch.length) {
    scratch = new Uint8Array(Math.max(length, 2 * scratch.length));
    views = [];
  }
  const out = scratch;
  if (standard) {
    // The source starts with the prefix: one copy for both.
    out.set(source.subarray(0, end));
  } else {
    for (let i = 0; i < payloadAt; i++) out[i] = prefix[i]!;
    out.set(source.subarray(start, end), payloadAt);
  }
  for (let i = 0; i < suffix.length; i++) out[suffixAt + i] = suffix[i]!;
  // Longer frames are rare (SDP offers): a fresh view each, so the cache stays small.
  return length > CACHED_VIEWS ? out.subarray(0, length) : (views[length] ??= out.subarray(0, length));
}

/** `{"type":"leave","name":<sender>}`. */
export function encodeLeave(senderJson: string): string {
  return '{"type":"leave","name":' + senderJson + '}';
}

/** `resumed` is given when the login carried a token: whether it took over or resumed a peer. */
export function encodeLoginSuccess(name: string, token: string, iceServers?: readonly IceServer[], resumed?: boolean): string {
  return JSON.stringify({ type: 'login', success: true, name, token, resumed, iceServers });
}

export function encodeIceServers(iceServers: readonly IceServer[]): string {
  return JSON.stringify({ type: 'ice-servers', iceServers });
}

export function encodeLoginRefused(reason: `${LoginFailure}`, message: string): string {
  return JSON.stringify({ type: 'login', success: false, reason, message });
}

export function encodeError(code: `${ErrorCode}`, message: string, request?: string, target?: string): string {
  return JSON.stringify({ type: 'error', code, message, request, target });
}
