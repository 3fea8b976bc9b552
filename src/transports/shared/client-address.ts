import { BlockList, isIP } from 'node:net';
import { InvalidOptionError } from '../../core/errors.js';
import { type Check, describeValue } from '../../core/option-check.js';
import type { UpgradeRequest } from '../../core/transport.js';

/**
 * Which proxies in front of the server are trusted to say who the client
 * is: exact addresses or CIDR ranges (`"10.0.0.0/8"`, `"::1"`), or a
 * function given a hop's address that returns `true` for a trusted proxy.
 */
export type TrustProxy = readonly string[] | ((address: string) => boolean);

/** `trustProxy` as one test of an address. */
export type ProxyCheck = (address: string) => boolean;

/** IPv4 as IPv6 (`::ffff:1.2.3.4`, Node's dual-stack sockets) read as the IPv4 address. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * A check of `trustProxy`, or `undefined` for an entry that is not an
 * address or a CIDR range (the caller reports it as an invalid option).
 */
export function proxyCheck(trust: TrustProxy): ProxyCheck | { invalid: string } {
  if (typeof trust === 'function') return (address) => trust(address) === true;
  const list = new BlockList();
  for (const entry of trust) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const prefix = bits === undefined ? undefined : Number(bits);
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128) || bits === ''))
    ) {
      return { invalid: entry };
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, prefix, type);
  }
  return (address) => {
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * The client's address: the socket's peer, or, when that peer is a trusted
 * proxy, the nearest untrusted hop of `X-Forwarded-For` read right to left
 * (each trusted proxy appends the address it got the request from; hops
 * left of an untrusted one may be forged by the client). When every hop is
 * trusted, the leftmost one. A malformed hop ends the walk at the last good one.
 */
export function clientAddress(request: UpgradeRequest, trusted: ProxyCheck | undefined): string | undefined {
  const peer = request.socket?.remoteAddress;
  if (peer === undefined) return undefined;
  const socketAddress = plainAddress(peer);
  if (trusted === undefined || !trusted(socketAddress)) return socketAddress;
  const header = request.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header.join(',') : header;
  if (typeof value !== 'string' || value === '') return socketAddress;
  const hops = value.split(',');
  let client = socketAddress;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]!.trim());
    if (isIP(hop) === 0) break;
    client = hop;
    if (!trusted(hop)) break;
  }
  return client;
}

/** `trustProxy`: addresses and CIDR ranges, or a function (for `attach()` and the Bun handler). */
export const trustProxyCheck: Check<TrustProxy> = (value, option) => {
  if (typeof value === 'function') return value as TrustProxy;
  const what = 'a list of proxy addresses or CIDR ranges (e.g. ["127.0.0.1", "10.0.0.0/8"]) or a function';
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) {
    throw new InvalidOptionError(option, what, describeValue(value));
  }
  const check = proxyCheck(value);
  if ('invalid' in check) throw new InvalidOptionError(option, what, `an entry ${JSON.stringify(check.invalid)}`);
  return Object.freeze([...value]);
};
