import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { DuplicateNamePolicy, HubOptions } from '../core/options.js';
import type { AttachOptions } from '../transports/attach-options.js';
import type { ConnectionRateOptions } from '../transports/shared/address-caps.js';
import { type JwtClaims, type JwtKey, rsaPublicKey, tokenOf, verifyJwt } from './jwt.js';

/** The CLI's identity and admission settings: names, per-address caps, trusted proxies, a JWT check. */
export interface CliIdentity {
  readonly assignNames: boolean;
  readonly duplicateNames: DuplicateNamePolicy | undefined;
  readonly maxConnectionsPerAddress: number | undefined;
  readonly connectionRate: ConnectionRateOptions | false | undefined;
  readonly trustProxy: readonly string[] | undefined;
  /** With a key, every connection needs a valid token; its `sub` becomes the peer's name. */
  readonly jwt: JwtKey | undefined;
}

/** Reads a flag's text (flag, then environment); `undefined` when absent. */
type Get = (name: string) => string | undefined;
/** An error for a flag: `must be <expected>, got <given>`. */
type Bad = (name: string, expected: string, given: string) => Error;

/** The identity flags, as the CLI's flag list holds them (`--help` and the README's table come from it). */
export const identityFlags: ReadonlyArray<{
  readonly name: string;
  readonly value?: string;
  readonly boolean?: true;
  readonly default: string;
  readonly help: string;
}> = [
  {
    name: 'assign-names',
    boolean: true,
    default: 'off',
    help: 'a login without a name gets a fresh unguessable one',
  },
  {
    name: 'duplicate-names',
    value: 'refuse|replace|suffix',
    default: 'refuse',
    help: 'a login for a held name: refuse it, replace the holder (4409), or add #2, #3…',
  },
  {
    name: 'max-connections-per-address',
    value: '<n>',
    default: '0 (no cap)',
    help: 'connections open at once from one client address; past it, 429',
  },
  {
    name: 'connection-rate',
    value: '<rate>[:<burst>]|off',
    default: 'off',
    help: 'new connections per second per client address, and burst; past it, 429',
  },
  {
    name: 'trust-proxy',
    value: '<list>',
    default: 'none',
    help: 'proxy addresses or CIDR ranges whose X-Forwarded-For is believed, comma-separated',
  },
  {
    name: 'jwt-secret',
    value: '<secret>',
    default: 'none',
    help: 'require an HS256 JWT (token query parameter or Authorization: Bearer); its sub is the name (prefer the env variable)',
  },
  { name: 'jwt-secret-file', value: '<path>', default: 'none', help: 'as --jwt-secret, the secret read from a file' },
  {
    name: 'jwt-public-key-file',
    value: '<path>',
    default: 'none',
    help: 'require an RS256 JWT checked with this RSA public key (PEM); its sub is the name',
  },
];

function readKeyFile(path: string, name: string, bad: Bad): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw bad(name, 'a readable file', `${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** Parses the identity flags; secrets are never echoed in errors. */
export function parseIdentity(get: Get, getBoolean: (name: string) => boolean, bad: Bad): CliIdentity {
  const duplicate = get('duplicate-names');
  if (duplicate !== undefined && !['refuse', 'replace', 'suffix'].includes(duplicate))
    throw bad('duplicate-names', 'refuse, replace or suffix', JSON.stringify(duplicate));
  const maxText = get('max-connections-per-address');
  const max = maxText === undefined ? undefined : Number(maxText);
  if (maxText !== undefined && (!/^\d+$/.test(maxText.trim()) || !Number.isSafeInteger(max)))
    throw bad('max-connections-per-address', 'a whole number (0: no cap)', JSON.stringify(maxText));
  const rateText = get('connection-rate');
  let connectionRate: ConnectionRateOptions | false | undefined;
  if (rateText !== undefined) {
    if (/^\s*(off|false|none)\s*$/i.test(rateText)) connectionRate = false;
    else {
      const match = /^\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+)\s*)?$/.exec(rateText);
      const perSecond = Number(match?.[1]);
      const burst = match?.[2] === undefined ? Math.max(1, Math.ceil(perSecond * 2)) : Number(match[2]);
      if (match === null || !(perSecond > 0) || !(burst >= 1))
        throw bad('connection-rate', '<per second>[:<burst>] (both above 0) or off', JSON.stringify(rateText));
      connectionRate = { perSecond, burst };
    }
  }
  const trustText = get('trust-proxy');
  const trustProxy =
    trustText === undefined
      ? undefined
      : trustText
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '');

  const secret = get('jwt-secret');
  const secretFile = get('jwt-secret-file');
  const publicKeyFile = get('jwt-public-key-file');
  const given = [secret, secretFile, publicKeyFile].filter((value) => value !== undefined).length;
  if (given > 1)
    throw bad('jwt-secret', 'given alone (one of --jwt-secret, --jwt-secret-file, --jwt-public-key-file)', 'several');
  let jwt: JwtKey | undefined;
  if (secret !== undefined || secretFile !== undefined) {
    const text = secret ?? readKeyFile(secretFile!, 'jwt-secret-file', bad).replace(/\r?\n$/, '');
    // HS256 with a short secret can be brute-forced offline from one token.
    if (Buffer.byteLength(text) < 32)
      throw bad(secret === undefined ? 'jwt-secret-file' : 'jwt-secret', 'a secret of at least 32 bytes', 'a shorter one');
    jwt = { algorithm: 'HS256', secret: Buffer.from(text) };
  } else if (publicKeyFile !== undefined) {
    const pem = readKeyFile(publicKeyFile, 'jwt-public-key-file', bad);
    try {
      jwt = { algorithm: 'RS256', key: rsaPublicKey(pem) };
    } catch (error) {
      throw bad(
        'jwt-public-key-file',
        'an RSA public key in PEM',
        `${JSON.stringify(publicKeyFile)} (${(error as Error).message})`,
      );
    }
  }
  return {
    assignNames: getBoolean('assign-names'),
    duplicateNames: duplicate as DuplicateNamePolicy | undefined,
    maxConnectionsPerAddress: max,
    connectionRate,
    trustProxy,
    jwt,
  };
}

/** The hub options the identity flags set. */
export function identityHubOptions(identity: CliIdentity): HubOptions<JwtClaims | undefined, JwtClaims> {
  const options: HubOptions<JwtClaims | undefined, JwtClaims> = {};
  if (identity.assignNames) options.assignNames = true;
  if (identity.duplicateNames !== undefined) options.duplicateNames = identity.duplicateNames;
  // The token's subject is the name, whatever the login asked for; its claims are the peer's data.
  if (identity.jwt !== undefined)
    options.authenticate = ({ upgrade }) => (upgrade === undefined ? false : { name: upgrade.sub, data: upgrade });
  return options;
}

/** The attach() options the identity flags set. */
export function identityAttachOptions(identity: CliIdentity): AttachOptions<JwtClaims> {
  const options: AttachOptions<JwtClaims> = {};
  if (identity.maxConnectionsPerAddress !== undefined) options.maxConnectionsPerAddress = identity.maxConnectionsPerAddress;
  if (identity.connectionRate !== undefined) options.connectionRate = identity.connectionRate;
  if (identity.trustProxy !== undefined) options.trustProxy = identity.trustProxy;
  const key = identity.jwt;
  // A missing, forged or expired token is answered 401 before the handshake.
  if (key !== undefined) {
    options.verifyUpgrade = (request: IncomingMessage) => {
      const token = tokenOf(request);
      return (token === undefined ? undefined : verifyJwt(token, key)) ?? false;
    };
  }
  return options;
}
