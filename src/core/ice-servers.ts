import type { IceServer } from '../protocol/messages.js';
import { InvalidOptionError } from './errors.js';
import { type Check, arrayOf, describeSecret, describeValue, integer, resolveOptions, string } from './option-check.js';
import type { Peer } from './peer.js';

/**
 * TURN credentials the hub issues itself, in the TURN REST API scheme that
 * coturn supports (`use-auth-secret` with `static-auth-secret`): username
 * `<unix expiry>:<peer name>`, credential `base64(HMAC-SHA1(secret, username))`.
 * The TURN server checks the expiry itself, so a credential cannot outlive
 * `ttl`; the hub pushes fresh ones before it passes.
 */
export interface TurnOptions {
  /**
   * The shared secret(s) of the TURN server. With several, the first signs:
   * to rotate, add the new secret to the TURN server first, then put it first
   * here, then drop the old one from both. Never sent, logged or shown.
   */
  secret: string | readonly string[];
  /** TURN (and STUN) URLs the credentials are for, e.g. `turn:turn.example.com:3478?transport=udp`. */
  urls: readonly string[];
  /**
   * Lifetime of each credential, in seconds (at least 2). Fresh credentials
   * are pushed to the peer at about 80% of it.
   * @default 3600
   */
  ttl?: number;
}

/** Where a peer's ICE servers come from: TURN credentials made here, or the host's hook. */
export interface IceServerSource {
  /** The servers for `peer`. */
  servers(peer: Peer): Promise<IceServer[]>;
  /** Milliseconds after which fresh servers are pushed; `undefined`: never. */
  readonly refreshAfter: number | undefined;
}

/** The `iceServers` hook: any other provider (a hosted TURN API, STUN only…). */
export type IceServersHook<D = unknown> = (peer: Peer<D>) => IceServer[] | Promise<IceServer[]>;

const turnDefaults = { ttl: 3600 };

/** A secret is checked without ever being shown: the message says what is wrong, never the value. */
const secretCheck: Check<readonly string[]> = (value, option) => {
  const secrets = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(secrets) || secrets.length === 0 || !secrets.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new InvalidOptionError(
      option,
      'a non-empty string or a non-empty array of non-empty strings',
      Array.isArray(value)
        ? 'an array with a value that is not a non-empty string'
        : typeof value === 'string'
          ? 'an empty string'
          : describeSecret(value),
    );
  }
  return Object.freeze([...(secrets as string[])]);
};

const turnUrl = /^turns?:|^stuns?:/;

/** Resolves the `turn` option into a credential source; the secrets stay inside it. */
export function turnSource(value: unknown, option = 'turn'): IceServerSource {
  if (typeof value !== 'object' || value === null || !('secret' in value) || !('urls' in value)) {
    // A string here is most likely the secret itself (`turn: process.env.TURN_SECRET`): never shown.
    throw new InvalidOptionError(option, '{ secret, urls, ttl? }', describeSecret(value));
  }
  const turn = resolveOptions<{ secret: readonly string[]; urls: readonly string[]; ttl: number }>(
    'turn',
    value,
    { secret: [], urls: [], ...turnDefaults },
    {
      secret: secretCheck,
      urls: arrayOf(string('a turn:, turns:, stun: or stuns: URL', turnUrl), 'a non-empty array of turn:/stun: URLs', 1),
      ttl: integer(2, 7 * 24 * 3600),
    },
    `${option}.`,
  );
  const { secret, urls, ttl } = turn;
  const signer = hmacSigner(secret[0]!);
  return {
    refreshAfter: Math.floor(ttl * 800),
    async servers(peer) {
      // Rounded up: a credential is valid for at least `ttl` from now, so the push at 80% always comes first.
      const username = `${Math.ceil(Date.now() / 1000) + ttl}:${peer.name}`;
      return [{ urls: [...urls], username, credential: await signer(username) }];
    },
  };
}

/** Wraps the host's hook; `refreshAfter` is the hook's refresh interval, if any. */
export function hookSource(hook: IceServersHook, refreshInterval: number): IceServerSource {
  return {
    refreshAfter: refreshInterval > 0 ? refreshInterval : undefined,
    async servers(peer) {
      const servers = await hook(peer);
      if (!Array.isArray(servers)) throw new TypeError(`expected an array of ICE servers, got ${describeValue(servers)}`);
      return servers;
    },
  };
}

/** base64(HMAC-SHA1(secret, text)) with WebCrypto (Node, Bun, Deno alike). The key is imported once. */
function hmacSigner(secret: string): (text: string) => Promise<string> {
  const encoder = new TextEncoder();
  const key = globalThis.crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  return async (text) => {
    const signature = await globalThis.crypto.subtle.sign('HMAC', await key, encoder.encode(text));
    return base64(new Uint8Array(signature));
  };
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
