import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Base64url of `bytes` random bytes. */
function random(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * A new session id: 128 random bits, prefixed with the node's id (base64url)
 * and a dot in a cluster, so that any node can tell which node holds the
 * session without a lookup. The id is not a credential: the secret is.
 */
export function newSessionId(nodeId: string | undefined): string {
  const id = random(16);
  return nodeId === undefined ? id : `${Buffer.from(nodeId).toString('base64url')}.${id}`;
}

/** The node id a session id names (`undefined`: a single node's id, or not one of ours). */
export function nodeOfSession(sessionId: string): string | undefined {
  const dot = sessionId.indexOf('.');
  if (dot <= 0) return undefined;
  return Buffer.from(sessionId.slice(0, dot), 'base64url').toString();
}

/** A new session secret: 256 random bits, base64url. */
export function newSecret(): string {
  return random(32);
}

/** Whether `given` (a header's value) is `secret`, compared in constant time. */
export function secretMatches(secret: Buffer, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const bytes = Buffer.from(given);
  // Lengths are public (every secret has the same); only the content is compared in constant time.
  return bytes.length === secret.length && timingSafeEqual(bytes, secret);
}

/** Session ids are base64url, with one dot in a cluster; anything else is refused before a lookup. */
export const SESSION_ID_PATTERN = /^(?:[A-Za-z0-9_-]{1,700}\.)?[A-Za-z0-9_-]{22}$/;
