import { expect, it } from 'vitest';
import { isWellFormed, utf8Length } from '../../src/protocol/utf8.js';

it('utf8Length matches Buffer.byteLength, lone surrogates and pairs included', () => {
  const alphabet = ['a', 'é', '€', '😀', '\uD800', '\uDC00', '\uDBFF\uDFFF', 'z', '\u07FF', '\u0800'];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % alphabet.length;
  for (let n = 0; n < 20000; n++) {
    let text = '';
    for (let k = 0; k < 8; k++) text += alphabet[next()];
    expect(utf8Length(text)).toBe(Buffer.byteLength(text));
  }
});

it('utf8Length matches Buffer.byteLength for texts longer than its encoding buffer (8192 units)', () => {
  const alphabet = ['a', 'é', '€', '😀', '\uD800', '\uDC00'];
  for (const units of [8191, 8192, 8193, 30_000]) {
    for (const char of alphabet) {
      // A pair straddling the 8192-unit line, or a lone surrogate at the end.
      const text = 'x'.repeat(units - char.length) + char;
      expect(utf8Length(text)).toBe(Buffer.byteLength(text));
    }
  }
});

it('isWellFormed is true exactly when the text survives a round trip through UTF-8, short texts and long', () => {
  const alphabet = ['a', 'é', '😀', '\uD800', '\uDC00', '\uDBFF\uDFFF', '\uDFFF\uDBFF', 'z'];
  let seed = 777;
  // The high bits: an LCG's low bits repeat with a short period.
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 16) % alphabet.length;
  let refused = 0;
  for (let n = 0; n < 20000; n++) {
    let text = n % 10 === 0 ? 'x'.repeat(60) : '';
    for (let k = 0; k < 6; k++) text += alphabet[next()];
    const expected = Buffer.from(text, 'utf8').toString('utf8') === text;
    expect(isWellFormed(text)).toBe(expected);
    if (!expected) refused++;
  }
  // Both answers were exercised, on both sides of the 64-unit line.
  expect(refused).toBeGreaterThan(1000);
  expect(refused).toBeLessThan(19000);
});
