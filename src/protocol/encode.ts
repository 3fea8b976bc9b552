import type { ErrorCode, LoginFailure } from './error-codes.js';
import type { RelayType } from './messages.js';

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

/** `{"type":"leave","name":<sender>}`. */
export function encodeLeave(senderJson: string): string {
  return '{"type":"leave","name":' + senderJson + '}';
}

export function encodeLoginSuccess(name: string, token: string): string {
  return JSON.stringify({ type: 'login', success: true, name, token });
}

export function encodeLoginRefused(reason: `${LoginFailure}`, message: string): string {
  return JSON.stringify({ type: 'login', success: false, reason, message });
}

export function encodeError(
  code: `${ErrorCode}`,
  message: string,
  request?: string,
  target?: string,
): string {
  return JSON.stringify({ type: 'error', code, message, request, target });
}
