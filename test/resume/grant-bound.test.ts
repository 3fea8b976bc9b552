import { describe, expect, it } from 'vitest';
import type { Envelope, ResumeBounds } from '../../src/core/backplane.js';
import { encodeGrant } from '../../src/cluster/control-codec.js';
import { worstCaseGrantBytes } from '../../src/cluster/grant-bound.js';
import { MemoryCluster, SignallingHub } from '../../src/index.js';

/** The largest grant a peer held within `bounds` can produce: every text made of characters JSON escapes six-fold. */
function worstGrant(bounds: ResumeBounds): string {
  const escaped = (length: number) => '\u0001'.repeat(length);
  const name = escaped(bounds.maxNameLength);
  const node = '"'.repeat(128);
  const parked: Envelope[] = [];
  const each = Math.floor(bounds.maxBytes / Math.max(1, bounds.maxMessages));
  for (let n = 0; n < bounds.maxMessages; n++) {
    const length = n === bounds.maxMessages - 1 ? bounds.maxBytes - each * n : each;
    parked.push({ kind: 'candidate', from: name, fromNode: node, to: name, frame: escaped(length) });
  }
  // One pending leave per call partner, held besides the bounds.
  for (let n = 0; n < bounds.maxCalls; n++) {
    parked.push({ kind: 'leave', from: name, fromNode: node, to: name, frame: JSON.stringify({ type: 'leave', name }) });
  }
  const partners = Array.from({ length: bounds.maxCalls }, () => [name, node] as const);
  const previous = { id: Number.MAX_SAFE_INTEGER, name, remoteAddress: escaped(4096), node, joinedAt: Number.MAX_VALUE };
  return encodeGrant(globalThis.crypto.randomUUID(), name, `${node} ${'9'.repeat(20)}`, { previous, parked, partners });
}

describe('the hand-over grant limit (#17 item 2)', () => {
  it.each([
    { maxMessages: 256, maxBytes: 262_144, maxNameLength: 128, maxCalls: 256 },
    { maxMessages: 1, maxBytes: 65_536, maxNameLength: 4096, maxCalls: 1 },
    { maxMessages: 4096, maxBytes: 4096, maxNameLength: 1, maxCalls: 0 },
    { maxMessages: 0, maxBytes: 0, maxNameLength: 64, maxCalls: 1024 },
  ])('bounds every grant a peer held within them can produce: %o', (bounds) => {
    expect(Buffer.byteLength(worstGrant(bounds))).toBeLessThanOrEqual(worstCaseGrantBytes(bounds));
  });

  it('is refused at start when the resume bounds allow a grant larger than one message may be', async () => {
    const cluster = new MemoryCluster();
    const hub = new SignallingHub({ backplane: cluster.backplane(), resumeMaxBytes: 8 * 1024 * 1024 });
    await expect(hub.ready).rejects.toThrow(/lower resumeMaxBytes/);
    await hub.close();
  });
});
