import type { ResumeBounds } from '../core/backplane.js';

/** JSON escapes one UTF-16 unit to at most six bytes (`\u0001`); as UTF-8 one unit takes at most three. */
const ESCAPED = 6;
/** Node ids are at most 128 characters (node-id.ts). */
const NODE_ID = 128;
/** Longest text the control codec accepts in a field such as the remote address (control-codec.ts). */
const TEXT = 4096;
/** Punctuation, kinds, numbers and ids around each part, generously. */
const ENTRY = 64;
const HEAD = 1024;

/**
 * The largest grant (control-codec.ts: `resume-grant`, as UTF-8) a hand-over
 * of a peer held within `bounds` can publish: `resumeMaxMessages` relays of
 * `resumeMaxBytes` in all, one pending `leave` per call partner, and the
 * partners themselves, every character escaped at worst. A cluster
 * backplane sizes what a hand-over may carry from it, so that any peer held
 * within the hub's documented bounds can resume on any node.
 */
export function worstCaseGrantBytes(bounds: ResumeBounds): number {
  const name = ESCAPED * bounds.maxNameLength;
  const node = ESCAPED * NODE_ID;
  const head = HEAD + ESCAPED * TEXT + name + node;
  // Each held relay's own frame counts against maxBytes; its sender and node do not.
  const relays = bounds.maxMessages * (ENTRY + name + node) + ESCAPED * bounds.maxBytes;
  // A `leave` is held outside those bounds, at most one per call partner: `{"type":"leave","name":…}`,
  // whose name is escaped once in the frame and again in the grant (`\u0001` becomes `\\u0001`: 7 bytes a unit).
  const leaves = bounds.maxCalls * (3 * ENTRY + name + node + 8 * bounds.maxNameLength);
  const partners = bounds.maxCalls * (ENTRY + name + node);
  return head + relays + leaves + partners;
}
