import { afterEach, describe, expect, it } from 'vitest';
import { SignallingHub, type Transport } from '../../src/index.js';
import { Prng } from '../fuzz/prng.js';
import { encodeRelay, encodeRelayBytes, encodeRelaySuffix } from '../../src/protocol/encode.js';
import type { RelayType } from '../../src/protocol/messages.js';
import { type RelayScan, targetOf } from '../../src/protocol/relay-scan.js';
import { type InboundSink, dispatchInbound } from '../../src/core/inbound.js';

/** What a sink heard, with the relayed frame as the target would receive it (text). */
type Heard =
  | { kind: 'relay'; path: 'text' | 'bytes'; type: RelayType; target: string; frame: string }
  | { kind: 'other'; call: string; detail: string };

const SENDER = 'Zoë';

/** A sink that records calls (a unit of the core in isolation), building frames as the connection does. */
function recorder(): InboundSink & { heard: Heard[] } {
  const heard: Heard[] = [];
  const nameJson = JSON.stringify(SENDER);
  return {
    heard,
    joined: true,
    nameJson,
    fail: (code, message) => heard.push({ kind: 'other', call: 'fail', detail: `${code} ${message}` }),
    relayBytes: (message: Uint8Array, scan: RelayScan) => {
      const frame = encodeRelayBytes(scan.type, message, scan.payloadStart, scan.payloadEnd, encodeRelaySuffix(nameJson));
      heard.push({
        kind: 'relay',
        path: 'bytes',
        type: scan.type,
        target: targetOf(message, scan),
        frame: Buffer.from(frame).toString(),
      });
    },
    relayText: (message: string, scan: RelayScan) => {
      const frame = encodeRelay(scan.type, message.slice(scan.payloadStart, scan.payloadEnd), nameJson);
      heard.push({
        kind: 'relay',
        path: 'text',
        type: scan.type,
        target: message.slice(scan.targetStart, scan.targetEnd),
        frame,
      });
    },
    relayFrame: (type, target, frame) => heard.push({ kind: 'relay', path: 'text', type, target, frame }),
    loginRequested: (fields) => heard.push({ kind: 'other', call: 'login', detail: JSON.stringify(fields) }),
    roomRequested: (type, fields) => heard.push({ kind: 'other', call: type, detail: JSON.stringify(fields) }),
  };
}

/** What dispatching `message` does, paths aside. */
function outcome(message: string | Uint8Array, max = 65536): { heard: Heard[]; paths: string[] } {
  const sink = recorder();
  dispatchInbound(sink, message, max);
  const paths = sink.heard.map((h) => (h.kind === 'relay' ? h.path : h.call));
  return { heard: sink.heard.map((h) => (h.kind === 'relay' ? { ...h, path: 'text' as const } : h)), paths };
}

const corpus = [
  JSON.stringify({
    type: 'candidate',
    candidate: { candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.3 46154 typ srflx', sdpMid: '0', sdpMLineIndex: 0 },
    name: 'UserB',
  }),
  JSON.stringify({ type: 'offer', offer: { type: 'offer', sdp: 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\n' }, name: 'Zoë 🦊' }),
  JSON.stringify({ type: 'answer', answer: { type: 'answer', sdp: 'v=0\r\n"quoted"\\back' }, name: '__proto__' }),
  JSON.stringify({ type: 'candidate', candidate: { sdp: 'é' }, name: 'b' }),
  JSON.stringify({ name: 'y', candidate: [1, -2.5, true, false, null, { a: [] }], type: 'candidate' }),
  JSON.stringify({ type: 'candidate', candidate: {}, name: 'n', extra: 'ignored' }, null, 2),
  '{"type":"candidate","candidate":{},"name":"b"',
  '{"type":"candidate","candidate":{},"name":"b"}x',
  '{"type":"c\\u0061ndidate","candidate":{},"name":"b"}',
  '{"type":"candidate","candidate":{ "a" : 1 },"name":"b"}',
  '{"type":"candidate","candidate":1e400,"name":"b"}',
  '{"type":"offer","offer":{},"name":"a","name":"b"}',
  '{"type":"leave","name":"b"}',
  '{"type":"login","name":"b"}',
  '{"type":"join","room":"r"}',
  '[1]',
];

const alphabet = ['"', '\\', '{', '}', '[', ']', ':', ',', ' ', 'e', '0', '-', 'é', '\u0001', 'u', 'a', 'name', 'type'];

describe('dispatchInbound: text takes the byte scan, one grammar for both', () => {
  it('does with a message given as text exactly what it does with its UTF-8 bytes', () => {
    for (const text of corpus) expect(outcome(text).heard, text).toEqual(outcome(Buffer.from(text)).heard);
  });

  it('agrees on 20k mutated messages (a fixed seed)', () => {
    let relayed = 0;
    for (let i = 0; i < 20_000; i++) {
      const rng = Prng.forCase(20261205, i);
      let text = corpus[Math.floor(rng.next() * 6)]!;
      for (let e = 1 + Math.floor(rng.next() * 4); e > 0; e--) {
        const at = Math.floor(rng.next() * (text.length + 1));
        const char = alphabet[Math.floor(rng.next() * alphabet.length)]!;
        text = rng.next() < 0.5 ? text.slice(0, at) + char + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
      }
      // Lone surrogates cannot travel as UTF-8: compare what arrives.
      text = Buffer.from(text).toString();
      const asText = outcome(text);
      expect(asText.heard, text).toEqual(outcome(Buffer.from(text)).heard);
      if (asText.paths[0] === 'text') relayed++;
    }
    expect(relayed).toBeGreaterThan(2_000);
  });

  it('builds an ASCII relay’s frame as text and a non-ASCII one as bytes', () => {
    expect(outcome(corpus[0]!).paths).toEqual(['text']);
    expect(outcome(corpus[1]!).paths).toEqual(['bytes']);
    expect(outcome(Buffer.from(corpus[0]!)).paths).toEqual(['bytes']);
    // Long texts are left to JSON.parse, which still relays them.
    const long = JSON.stringify({ type: 'candidate', candidate: 'x'.repeat(9000), name: 'b' });
    expect(outcome(long).heard).toEqual([
      {
        kind: 'relay',
        path: 'text',
        type: 'candidate',
        target: 'b',
        frame: encodeRelay('candidate', JSON.stringify('x'.repeat(9000)), JSON.stringify(SENDER)),
      },
    ]);
  });

  it('reads a view of a buffer scanned before from that buffer, after a text took the scan’s words', () => {
    // The scan keeps the last buffer's words; a text says its own (the reused scratch buffer).
    const shared = new ArrayBuffer(4096);
    const put = (text: string) => {
      const view = new Uint8Array(shared, 0, text.length);
      view.set(Buffer.from(text));
      return view;
    };
    const relay = (candidate: string) => JSON.stringify({ type: 'candidate', candidate, name: 'b' });
    outcome(put(relay('a'.repeat(100))));
    // Plain bytes across the scratch buffer, then a second view of the shared buffer whose string ends early.
    outcome(relay('c'.repeat(400)));
    const short = relay('d'.repeat(40));
    const got = outcome(put(short));
    expect(got.paths).toEqual(['bytes']);
    expect(got.heard).toEqual(outcome(Buffer.from(short)).heard);
  });

  it('measures a text message’s size in UTF-8 bytes, as its bytes would be', () => {
    const text = JSON.stringify({ type: 'candidate', candidate: 'é'.repeat(40), name: 'b' });
    const limit = text.length + 10; // above its length in units, below its length in bytes
    expect(outcome(text, limit).heard).toEqual(outcome(Buffer.from(text), limit).heard);
    expect(outcome(text, limit).paths).toEqual(['fail']);
  });
});

/** Records every frame the hub sends, as text, and the UTF-8 bytes they took. */
class CountingTransport implements Transport {
  readonly frames: string[] = [];
  bytes = 0;
  send(message: string | Uint8Array): void {
    const text = typeof message === 'string' ? message : Buffer.from(message).toString();
    this.frames.push(text);
    this.bytes += Buffer.byteLength(text);
  }
  close(): void {}
  terminate(): void {}
}

const hubs: SignallingHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

describe('a hub fed text (as Bun feeds it)', () => {
  it('relays text as it relays bytes, and counts the bytes in and out exactly', () => {
    const hub = new SignallingHub();
    hubs.push(hub);
    let bytesIn = 0;
    const peer = (name: string) => {
      const transport = new CountingTransport();
      const session = hub.open(transport);
      const receive = (text: string) => {
        bytesIn += Buffer.byteLength(text);
        session.receive(text);
      };
      receive(JSON.stringify({ type: 'login', name }));
      return { transport, receive };
    };
    const a = peer('a');
    const zoe = peer('Zoë');
    const relays: Array<[typeof a, string]> = [
      // ASCII: built as text (the sender's name is not ASCII: its bytes still count right).
      [
        zoe,
        JSON.stringify({ type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host' }, name: 'a' }),
      ],
      [zoe, '{ "name" : "a", "type": "offer", "offer": {"sdp" : "v=0\\r\\n"} }'],
      [a, JSON.stringify({ type: 'answer', answer: { sdp: 'x' }, name: 'Zoë' })],
      // Not ASCII: the byte path.
      [zoe, JSON.stringify({ type: 'candidate', candidate: { candidate: 'é' }, name: 'a' })],
      // Not a relay the scan takes: JSON.parse.
      [zoe, '{"type":"candidate","candidate":1e400,"name":"a"}'],
    ];
    for (const [from, text] of relays) from.receive(text);
    expect(a.transport.frames.slice(1).map((frame) => JSON.parse(frame) as unknown)).toEqual([
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host' }, name: 'Zoë' },
      { type: 'offer', offer: { sdp: 'v=0\r\n' }, name: 'Zoë' },
      { type: 'candidate', candidate: { candidate: 'é' }, name: 'Zoë' },
      { type: 'candidate', candidate: null, name: 'Zoë' },
    ]);
    // The raw payload is forwarded as it came, as on the byte path.
    expect(a.transport.frames[2]).toBe('{"type":"offer","offer":{"sdp" : "v=0\\r\\n"},"name":"Zoë"}');
    expect(zoe.transport.frames.at(-1)).toBe('{"type":"answer","answer":{"sdp":"x"},"name":"a"}');
    const stats = hub.stats();
    expect(stats.bytesIn).toBe(bytesIn);
    expect(stats.bytesOut).toBe(a.transport.bytes + zoe.transport.bytes);
  });
});
