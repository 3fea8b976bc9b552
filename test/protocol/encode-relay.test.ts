import { describe, expect, it } from 'vitest';
import { encodeRelay, encodeRelayBytes, encodeRelaySuffix, encodeRelaySuffixText } from '../../src/protocol/encode.js';
import { type RelayScan, scanRelay } from '../../src/protocol/relay-scan.js';

const fresh = (): RelayScan => ({ type: 'candidate', targetStart: 0, targetEnd: 0, payloadStart: 0, payloadEnd: 0 });

describe('a relayed frame built from the scanned message', () => {
  it('is the same frame whether the standard shape copies the prefix from the message or not', () => {
    const messages = [
      '{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 192.0.2.1 1 typ host","sdpMid":"0"},"name":"b"}',
      '{"type":"offer","offer":{"type":"offer","sdp":"v=0\\r\\n"},"name":"Zoë"}',
      '{"type":"answer","answer":"é","name":"b"}',
      '{"name":"b","type":"answer","answer":[1,2]}',
    ];
    for (const sender of ['"a"', '"Zoë 🦊"']) {
      const suffix = encodeRelaySuffix(sender);
      expect(Buffer.from(suffix).toString()).toBe(encodeRelaySuffixText(sender));
      for (const text of messages) {
        for (let align = 0; align < 4; align++) {
          const encoded = Buffer.from(text);
          const bytes = new Uint8Array(encoded.length + 8).subarray(align, align + encoded.length);
          bytes.set(encoded);
          const scan = fresh();
          expect(scanRelay(bytes, scan)).toBe(true);
          expect(scan.standard).toBe(text.startsWith('{"type"'));
          const payload = Buffer.from(bytes.subarray(scan.payloadStart, scan.payloadEnd)).toString();
          const expected = encodeRelay(scan.type, payload, sender);
          const built = (standard: boolean) =>
            Buffer.from(encodeRelayBytes(scan.type, bytes, scan.payloadStart, scan.payloadEnd, suffix, standard)).toString();
          expect(built(false)).toBe(expected);
          if (scan.standard === true) expect(built(true)).toBe(expected);
          // As text (ASCII messages): the message's own start plus the suffix.
          if (scan.standard === true && encoded.length === text.length)
            expect(text.slice(0, scan.payloadEnd) + encodeRelaySuffixText(sender)).toBe(expected);
        }
      }
    }
  });
});
