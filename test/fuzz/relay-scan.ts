import { isDeepStrictEqual } from 'node:util';
import { type RelayScan, scanRelay, targetIs, targetOf } from '../../src/protocol/relay-scan.js';
import { Prng } from './prng.js';

/**
 * The relay scanner (the fast path that forwards relays without JSON.parse)
 * against JSON.parse, on mutated relays: whenever the scanner accepts a
 * message, JSON.parse must accept it too and read the same type, target and
 * payload value (rejecting is always safe: the JSON.parse path runs then).
 * The same contract as test/protocol/relay-scan.test.ts, for long runs: more
 * base messages (random payloads), up to 6 edits, and the bytes placed at a
 * random offset of a larger buffer (the scanner reads 4-byte words).
 */

const samples: object[] = [
  {
    type: 'candidate',
    candidate: {
      candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.3 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sI9j',
      sdpMid: '0',
      sdpMLineIndex: 0,
      usernameFragment: 'sI9j',
    },
    name: 'UserB',
  },
  { type: 'offer', offer: { type: 'offer', sdp: 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' }, name: 'Zoë 🦊' },
  { type: 'answer', answer: { type: 'answer', sdp: 'v=0\r\n"quoted"\\back' }, name: '__proto__' },
  { type: 'candidate', candidate: null, name: 'x' },
  { name: 'y', candidate: [1, -2.5, true, false, null, 'é', { a: [] }], type: 'candidate' },
  { type: 'candidate', candidate: { nested: { deeper: { deepest: [[[1]]] } } }, name: 'n', extra: 'ignored' },
];

const alphabet = [
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  ' ',
  '\n',
  '0',
  '1',
  '-',
  '.',
  'e',
  'E',
  '+',
  'u',
  'a',
  'n',
  't',
  'r',
  'f',
  'l',
  '\u0000',
  '\u001f',
  '\ud83e',
  '\udd8a',
  'é',
  '/',
  'b',
];

function randomValue(rng: Prng, depth: number): unknown {
  switch (rng.int(depth > 3 ? 4 : 6)) {
    case 0:
      return rng.pick([null, true, false]);
    case 1:
      return rng.pick([0, -0, 1, -1.5, 1e-7, 1.2345678901234567e19, 0.1, 2 ** 53]);
    case 2:
    case 3:
      return rng.pick([
        '',
        'a',
        'é',
        '🦊',
        '"\\/\b\f\n\r\t',
        '\u0000\u001f',
        'x'.repeat(rng.int(60)),
        'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host',
      ]);
    case 4:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--)
        out[rng.pick(['a', 'sdp', 'type', 'name', '1', '', 'é'])] = randomValue(rng, depth + 1);
      return out;
    }
  }
}

function base(rng: Prng): string {
  if (rng.chance(0.5)) return JSON.stringify(rng.pick(samples));
  const type = rng.pick(['offer', 'answer', 'candidate']);
  const value = { type, [type]: randomValue(rng, 0), name: rng.pick(['b', 'Zoë', '__proto__', 'x'.repeat(40), '']) };
  return rng.chance(0.1) ? JSON.stringify(value, null, rng.int(3)) : JSON.stringify(value);
}

function mutate(rng: Prng, text: string): string {
  for (let e = 1 + rng.int(6); e > 0; e--) {
    const at = rng.int(text.length + 1);
    const char = rng.pick(alphabet);
    const op = rng.next();
    if (op < 0.4) text = text.slice(0, at) + char + text.slice(at);
    else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1);
    else if (op < 0.95) text = text.slice(0, at) + char + text.slice(at + 1);
    else text = text.slice(0, at) + text.slice(at, at + rng.int(20)) + text.slice(at);
  }
  return text;
}

const out: RelayScan = { type: 'candidate', targetStart: 0, targetEnd: 0, payloadStart: 0, payloadEnd: 0 };

/** Checks one message; returns whether the scanner accepted it, throws on a disagreement. */
export function checkAgreement(input: string, offset: number): boolean {
  const encoded = Buffer.from(input);
  // Lone surrogates cannot travel as UTF-8: what arrives is their replacement character.
  const text = encoded.toString();
  const backing = new Uint8Array(encoded.length + offset + 8);
  const bytes = backing.subarray(offset, offset + encoded.length);
  bytes.set(encoded);
  if (!scanRelay(bytes, out)) return false;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`scanRelay accepted text JSON.parse rejects: ${JSON.stringify(text)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`accepted a non-object: ${JSON.stringify(text)}`);
  if (parsed.type !== out.type)
    throw new Error(`type ${out.type} but JSON.parse reads ${String(parsed.type)}: ${JSON.stringify(text)}`);
  const target = targetOf(bytes, out);
  if (parsed.name !== target)
    throw new Error(
      `target ${JSON.stringify(target)} but JSON.parse reads ${JSON.stringify(parsed.name)}: ${JSON.stringify(text)}`,
    );
  const ascii = [...target].every((char) => char.charCodeAt(0) < 0x80);
  if (targetIs(bytes, out, target) !== ascii)
    throw new Error(`targetIs disagrees for ${JSON.stringify(target)}: ${JSON.stringify(text)}`);
  const payload = JSON.parse(Buffer.from(bytes.subarray(out.payloadStart, out.payloadEnd)).toString()) as unknown;
  if (!isDeepStrictEqual(payload, parsed[out.type])) throw new Error(`payload differs: ${JSON.stringify(text)}`);
  return true;
}

export interface ScannerFuzzResult {
  seed: number;
  mutations: number;
  accepted: number;
  ms: number;
}

/** Runs `mutations` mutated messages; case `i` is generated from (seed, i), so any one replays alone. */
export function runScannerFuzz(options: {
  seed: number;
  mutations: number;
  from?: number;
  onProgress?: (result: ScannerFuzzResult) => void;
}): ScannerFuzzResult {
  const started = Date.now();
  const result: ScannerFuzzResult = { seed: options.seed, mutations: 0, accepted: 0, ms: 0 };
  const end = (options.from ?? 0) + options.mutations;
  for (let i = options.from ?? 0; i < end; i++) {
    const rng = Prng.forCase(options.seed, i);
    const text = mutate(rng, base(rng));
    try {
      if (checkAgreement(text, rng.int(8))) result.accepted++;
    } catch (error) {
      throw new Error(`case ${i} of seed ${options.seed}: ${(error as Error).message}`, { cause: error });
    }
    result.mutations++;
    if (result.mutations % 1_000_000 === 0) options.onProgress?.({ ...result, ms: Date.now() - started });
  }
  result.ms = Date.now() - started;
  return result;
}
