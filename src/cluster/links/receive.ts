import type { Envelope } from '../../core/backplane.js';
import { decodeEnvelopeBytes } from '../envelope-codec.js';

/**
 * Delivers a batch that came over a link (see `LinkReceiver`): each envelope whose target is here,
 * in order, through `deliver`; the others are refused, and so is every later envelope to a target
 * refused on this link until the sender clears it. While `current` is false (this node cannot vouch
 * that its names are still its own: its lease may have lapsed), everything is refused. Returns the
 * refused indexes, or `undefined` for a malformed batch.
 */
export function receiveLinked(
  batch: Buffer,
  refused: Set<string>,
  current: boolean,
  deliver: (envelope: Envelope) => boolean,
): number[] | undefined {
  const envelopes = decodeEnvelopeBytes(batch);
  // Indexes travel as 16 bits (a batcher sends at most 256 envelopes per batch).
  if (envelopes === undefined || envelopes.length > 0xffff) return undefined;
  const out: number[] = [];
  for (let i = 0; i < envelopes.length; i++) {
    const envelope = envelopes[i]!;
    if (!current || (refused.size > 0 && refused.has(envelope.to)) || !deliver(envelope)) {
      refused.add(envelope.to);
      out.push(i);
    }
  }
  return out;
}
