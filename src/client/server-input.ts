import type { IceServer, ServerMessage } from '../protocol/messages.js';

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
