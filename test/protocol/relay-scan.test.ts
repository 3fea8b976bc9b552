import { describe, expect, it } from 'vitest';
import { checkAgreement as agree, runScannerFuzz } from '../fuzz/relay-scan.js';
import { type RelayScan, scanRelay, targetIs, targetOf } from '../../src/protocol/relay-scan.js';

const fresh = (): RelayScan => ({ type: 'candidate', targetStart: 0, targetEnd: 0, payloadStart: 0, payloadEnd: 0 });

/** The scanner reads UTF-8 bytes, as the transport hands them over. */
const scan = (text: string, out = fresh()) => scanRelay(Buffer.from(text), out);

/**
 * The fast path's contract (checked by the fuzz harness's `checkAgreement`): whenever it accepts a
 * message, JSON.parse accepts it too and sees the same type, target and payload value. (Rejecting
 * is always safe: the JSON.parse path runs.)
 */
const checkAgreement = (input: string) => agree(input, 0);

const samples = [
  {
    type: 'candidate',
    candidate: {
      candidate:
        'candidate:842163049 1 udp 1677729535 192.0.2.3 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sI9j network-cost 999',
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

describe('scanRelay, the relay fast path', () => {
  it('takes ordinary relays written by JSON.stringify, forwarding the payload byte for byte', () => {
    for (const sample of samples) {
      const text = JSON.stringify(sample);
      expect(checkAgreement(text)).toBe(true);
      const out = fresh();
      scan(text, out);
      const payload = (sample as Record<string, unknown>)[sample.type];
      expect(Buffer.from(text).subarray(out.payloadStart, out.payloadEnd).toString()).toBe(JSON.stringify(payload));
    }
    expect(checkAgreement(JSON.stringify(samples[0], null, 2))).toBe(true);
  });

  it('decodes a non-ASCII target name', () => {
    const out = fresh();
    const zoe = Buffer.from('{"type":"candidate","candidate":{},"name":"Zoë 🦊"}');
    expect(scanRelay(zoe, out)).toBe(true);
    expect(targetOf(zoe, out)).toBe('Zoë 🦊');
    const long = Buffer.from(`{"type":"candidate","candidate":{},"name":"${'é'.repeat(40)}"}`);
    expect(scanRelay(long, out)).toBe(true);
    expect(targetOf(long, out)).toBe('é'.repeat(40));
    // Compared without decoding only when ASCII: "Ã©" must not match the bytes of "é".
    const accented = Buffer.from('{"type":"candidate","candidate":{},"name":"é"}');
    expect(scanRelay(accented, out)).toBe(true);
    expect(targetIs(accented, out, 'Ã©')).toBe(false);
    expect(targetIs(accented, out, 'é')).toBe(false);
  });

  it.each([
    ['invalid JSON', '{"type":"candidate","candidate":{},"name":"b"'],
    ['a trailing comma', '{"type":"candidate","candidate":{},"name":"b",}'],
    ['trailing garbage', '{"type":"candidate","candidate":{},"name":"b"}x'],
    ['single quotes', "{'type':'candidate','candidate':{},'name':'b'}"],
    ['leave (no payload)', '{"type":"leave","name":"b"}'],
    ['login', '{"type":"login","name":"b"}'],
    ['a missing payload', '{"type":"offer","name":"b"}'],
    ['a numeric target', '{"type":"offer","offer":{},"name":5}'],
    ['a duplicated name', '{"type":"offer","offer":{},"name":"a","name":"b"}'],
    ['an escaped type', '{"type":"c\\u0061ndidate","candidate":{},"name":"b"}'],
    ['an escaped target', '{"type":"candidate","candidate":{},"name":"\\u0062"}'],
    ['a raw control character', '{"type":"candidate","candidate":"a\u0001b","name":"b"}'],
    ['an exponent', '{"type":"candidate","candidate":1e400,"name":"b"}'],
    ['a leading zero', '{"type":"candidate","candidate":01,"name":"b"}'],
    ['NaN', '{"type":"candidate","candidate":NaN,"name":"b"}'],
    ['an array', '[{"type":"candidate","candidate":{},"name":"b"}]'],
  ])('leaves %s to the JSON.parse path', (_label, text) => {
    expect(scan(text)).toBe(false);
  });

  it('says whether the message begins with its frame’s prefix (the standard shape)', () => {
    const standard = fresh();
    expect(scan('{"type":"offer","offer":{"sdp":"x"},"name":"b"}', standard)).toBe(true);
    expect(standard.standard).toBe(true);
    expect(standard.payloadStart).toBe('{"type":"offer","offer":'.length);
    // The payload starts where the prefix would end, but the message does not begin with it.
    const lookalike = fresh();
    expect(scan('{"name":"b",    "offer":{"sdp":"x"},"type":"offer"}', lookalike)).toBe(true);
    expect(lookalike.payloadStart).toBe('{"type":"offer","offer":'.length);
    expect(lookalike.standard).toBe(false);
    // Too short for the standard shape: the general scan, which still takes it.
    const short = fresh();
    expect(scan('{"name":"","type":"offer","offer":0}', short)).toBe(true);
    expect(short.standard).toBe(false);
  });

  it('matches the standard prefix byte for byte at every alignment (a word at a time when aligned)', () => {
    let checked = 0;
    for (const type of ['offer', 'answer', 'candidate']) {
      const prefix = `{"type":"${type}","${type}":`;
      const text = `${prefix}{"sdp":"v=0"},"name":"b"}`;
      for (let at = 0; at <= prefix.length; at++) {
        // One byte of the prefix changed (or none): a space keeps it JSON, an x does not.
        for (const edit of at < prefix.length ? [' ', 'x'] : ['']) {
          const edited = at < prefix.length ? text.slice(0, at) + edit + text.slice(at + 1) : text;
          for (let align = 0; align < 4; align++) {
            const backing = new Uint8Array(edited.length + 8);
            const bytes = backing.subarray(align, align + edited.length);
            bytes.set(Buffer.from(edited));
            const out = fresh();
            const accepted = scanRelay(bytes, out);
            if (accepted) expect(agree(edited, align)).toBe(true);
            expect(accepted && out.standard).toBe(edited === text);
            if (edited === text) expect(accepted).toBe(true);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(4 * (2 * (24 + 26 + 32) + 3));
  });

  it.each([
    ['space before a colon', '{"type":"offer","offer":{"sdp" :"x","a"\t\n: 1},"name":"b"}'],
    ['space after a colon', '{"type":"offer","offer":{"sdp": \r"x"},"name":"b"}'],
    ['space around commas in an array', '{"type":"offer","offer":[1 , 2,\n3 ,"x"],"name":"b"}'],
    ['space inside empty containers', '{"type":"offer","offer":[{ },[ ],{"a":{\n}}],"name":"b"}'],
    ['space before a closing byte', '{"type":"offer","offer":{"a":[1 ] ,"b":{"c":2 } },"name":"b"}'],
    ['a key that is a prefix of another', '{"type":"offer","offer":{"a":1,"ab":2,"abc":{"a":3}},"name":"b"}'],
    ['escapes in short keys', '{"type":"offer","offer":{"\\"":1,"a\\u00e9":2,"\\n":3},"name":"b"}'],
    ['containers closed in turn', '{"type":"offer","offer":[{"a":[1,{"b":[[2],{}]}]},3,[{"c":[]}]],"name":"b"}'],
    ['a number at the payload’s end', '{"type":"offer","offer":-12.5,"name":"b"}'],
    [
      'strings either side of the word loop',
      `{"type":"offer","offer":["${'x'.repeat(15)}","${'y'.repeat(16)}","${'z'.repeat(17)}","${'w'.repeat(15)}\\n${'v'.repeat(20)}"],"name":"b"}`,
    ],
  ])('takes %s, as JSON.parse reads it', (_label, text) => {
    expect(checkAgreement(text)).toBe(true);
  });

  it.each([
    ['a control byte where space may stand', '{"type":"offer","offer":[1\u0001,2],"name":"b"}'],
    ['a control byte after a colon', '{"type":"offer","offer":{"a":\u0001 1},"name":"b"}'],
    ['a container closed by the other kind', '{"type":"offer","offer":[{"a":1]},"name":"b"}'],
    ['a key without a colon', '{"type":"offer","offer":{"a" 1},"name":"b"}'],
    ['a key ending the message', '{"type":"offer","offer":{"a"'],
    ['a message ending after a colon', '{"type":"offer","offer":{"a": '],
    ['a message ending after a comma', '{"type":"offer","offer":[1, '],
    ['a message ending mid-string', '{"type":"offer","offer":"abc'],
    ['a message ending mid-escape', '{"type":"offer","offer":"ab\\u00'],
    ['a message ending in a number', '{"type":"offer","offer":12'],
    ['a message ending in an open container', '{"type":"offer","offer":[ '],
  ])('leaves %s to the JSON.parse path', (_label, text) => {
    expect(scan(text)).toBe(false);
  });

  it('finds a quote, backslash or control byte at any position and alignment of a long string', () => {
    // Long strings are skipped a 4-byte word at a time: every byte position in a word, every
    // alignment of the message in its buffer, next to multi-byte UTF-8, must still be checked.
    const specials = [...Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c)), '"', '\\'];
    const filler = 'é-abcdefghijklmnopqrstuvwxyz0123456789-é-ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    let checked = 0;
    for (let at = 0; at < 48; at++) {
      for (const special of specials) {
        const text = `{"type":"candidate","candidate":"${filler.slice(0, at)}${special}${filler.slice(at)}","name":"b"}`;
        for (let align = 0; align < 4; align++) {
          const backing = new Uint8Array(Buffer.byteLength(text) + 8);
          const bytes = backing.subarray(align, align + Buffer.byteLength(text));
          bytes.set(Buffer.from(text));
          const out = fresh();
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          expect(scanRelay(bytes, out)).toBe(parsed !== undefined);
          if (parsed !== undefined)
            expect(Buffer.from(bytes.subarray(out.payloadStart, out.payloadEnd)).toString()).toBe(
              JSON.stringify((parsed as { candidate: string }).candidate),
            );
          checked++;
        }
      }
    }
    expect(checked).toBe(48 * 34 * 4);
  });

  it('stops a long string at every quote, backslash or control byte and at no other byte, in any word position', () => {
    // Raw bytes (from 0x80 up too, taken as they are): the word test against the byte test.
    const head = Buffer.from('{"type":"candidate","candidate":"');
    const tail = Buffer.from('","name":"b"}');
    let checked = 0;
    for (let value = 0; value < 256; value++) {
      const plain = value >= 0x20 && value !== 0x22 && value !== 0x5c;
      for (let at = 16; at < 24; at++) {
        const content = Buffer.alloc(40, 0x61);
        content[at] = value;
        for (let align = 0; align < 4; align++) {
          const length = head.length + content.length + tail.length;
          const bytes = new Uint8Array(length + 8).subarray(align, align + length);
          bytes.set(head);
          bytes.set(content, head.length);
          bytes.set(tail, head.length + content.length);
          expect(scanRelay(bytes, fresh())).toBe(plain);
          checked++;
        }
      }
    }
    expect(checked).toBe(256 * 8 * 4);
  });

  it('never accepts what JSON.parse rejects or reads differently (100k mutations, a fixed seed)', () => {
    // The harness of the long run (npm run fuzz:scanner); a fixed seed here, a fresh one in test/fuzz.
    const result = runScannerFuzz({ seed: 20261123, mutations: 100_000 });
    // Many mutants stay valid relays (e.g. an edit inside a string): the agreement check ran on them.
    expect(result.accepted).toBeGreaterThan(5_000);
  });
});
