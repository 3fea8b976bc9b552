import { type KeyObject, createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** How the CLI checks JSON Web Tokens: HS256 with a shared secret, or RS256 with a public key. */
export type JwtKey =
  { readonly algorithm: 'HS256'; readonly secret: Buffer } | { readonly algorithm: 'RS256'; readonly key: KeyObject };

/** Claims of a token that passed, `sub` among them. */
export interface JwtClaims {
  readonly sub: string;
  readonly [claim: string]: unknown;
}

/** Tokens longer than this are refused before any work (a header or query string rarely holds more). */
const MAX_TOKEN_LENGTH = 8192;
/** Clock difference tolerated on `exp` and `nbf`, in seconds. */
const LEEWAY_SECONDS = 30;

/** Reads an RS256 public key (PEM); throws when it is not one. */
export function rsaPublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'rsa')
    throw new Error(`expected an RSA public key, got ${key.asymmetricKeyType ?? 'another key'}`);
  return key;
}

function base64url(part: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(part) ? Buffer.from(part, 'base64url') : undefined;
}

function json(part: string): Record<string, unknown> | undefined {
  const bytes = base64url(part);
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks a compact JWS: the header's `alg` must be the configured one (never
 * `none`, never the other: a public key is no HMAC secret), the signature
 * must match, `exp` must not have passed and `nbf` must have come (30 s of
 * leeway), and `sub` must be a non-empty string. Returns the claims, or
 * `undefined` for any token that fails.
 */
export function verifyJwt(token: string, key: JwtKey, now = Date.now()): JwtClaims | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = json(headerPart);
  if (header?.alg !== key.algorithm) return undefined;
  const signature = base64url(signaturePart);
  if (signature === undefined) return undefined;
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  if (key.algorithm === 'HS256') {
    const expected = createHmac('sha256', key.secret).update(signed).digest();
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined;
  } else if (!verify('sha256', signed, key.key, signature)) {
    return undefined;
  }
  const claims = json(payloadPart);
  if (claims === undefined || typeof claims.sub !== 'string' || claims.sub === '') return undefined;
  const seconds = now / 1000;
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || seconds > claims.exp + LEEWAY_SECONDS)) return undefined;
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || seconds < claims.nbf - LEEWAY_SECONDS)) return undefined;
  return claims as JwtClaims;
}

/** The token of a request: `Authorization: Bearer <token>`, else the `token` query parameter (browsers cannot set headers on a WebSocket). */
export function tokenOf(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization;
  const bearer = typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  if (bearer !== undefined) return bearer;
  const query = request.url?.indexOf('?') ?? -1;
  if (query < 0) return undefined;
  return new URLSearchParams(request.url!.slice(query + 1)).get('token') ?? undefined;
}
