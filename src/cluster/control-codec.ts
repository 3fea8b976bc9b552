import type { Envelope, RemotePeer, ResumeGrant } from '../core/backplane.js';
import { isWellFormed } from '../protocol/utf8.js';
import { nodeIdPattern } from './node-id.js';

/*
 * Control messages between nodes: a resume across nodes, and requests
 * between their hosts (`node-request`, `node-reply`). They share a node's channel
 * with the envelopes (so that a grant and the relays published after it
 * arrive in that order) and are told apart by their first character: a JSON
 * object starts with `{`, an envelope message with a digit or a kind.
 *
 * - `resume`: the resuming node B asks the holder A to hand `name` over for `token`.
 * - `resume-refused`: A's answer when it does not (`refused`: no resumable holder
 *   with that token; `unavailable`: the hand-over failed).
 * - `resume-grant`: published on B's channel by the atomic step that moves the claim.
 * - `handed`: published on A's own channel by the same step, after the grant:
 *   once A's subscription sees it, every envelope published to A before the move has arrived.
 * - `resume-tail`: published by A on B's channel once it has read `handed`: what
 *   reached the name on A between setting its holder aside and the move
 *   (possibly nothing). B holds what arrives for the name straight from other
 *   nodes until the tail is in, so that one sender's relays keep their order.
 *
 * Everything read from the channel is checked: a malformed message is reported and ignored.
 */

export interface ResumeRequest {
  readonly t: 'resume';
  /** Random id of the request (the grant or refusal carries it back). */
  readonly id: string;
  /** The resuming node. */
  readonly node: string;
  readonly name: string;
  readonly token: string;
  /** The resuming login's claim id: the name's value becomes `<node> <claim>`. */
  readonly claim: string;
  /** Bus time (ms) after which the hand-over must not take effect (`'0'`: none). */
  readonly deadline: string;
}

export interface ResumeRefused {
  readonly t: 'resume-refused';
  readonly id: string;
  readonly reason: 'refused' | 'unavailable';
}

export interface ResumeGranted {
  readonly t: 'resume-grant';
  readonly id: string;
  readonly name: string;
  readonly claim: string;
  readonly grant: ResumeGrant;
}

export interface HandedOver {
  readonly t: 'handed';
  readonly id: string;
  readonly name: string;
}

export interface ResumeTail {
  readonly t: 'resume-tail';
  readonly id: string;
  readonly name: string;
  /** Oldest first (`to` is the name). */
  readonly envelopes: readonly Envelope[];
}

/**
 * A request of a transport on node `node` to this node's host on `channel`
 * (the HTTP fallback forwards requests for sessions held here with it).
 */
export interface NodeRequest {
  readonly t: 'node-request';
  readonly id: string;
  /** The asking node: the answer goes to its channel. */
  readonly node: string;
  readonly channel: string;
  readonly payload: string;
}

/** The answer to a {@link NodeRequest} (`reply` `null`: nothing here handles its channel). */
export interface NodeAnswer {
  readonly t: 'node-reply';
  readonly id: string;
  readonly reply: string | null;
}

export type ControlMessage = ResumeRequest | ResumeRefused | ResumeGranted | HandedOver | ResumeTail | NodeRequest | NodeAnswer;

/** Largest payload or answer of a node request (a forwarded request body is far smaller). */
export const MAX_NODE_PAYLOAD = 16 * 1024 * 1024;
const channelPattern = /^[\x21-\x7e]{1,256}$/;

export function encodeNodeRequest(request: Omit<NodeRequest, 't'>): string {
  return JSON.stringify({ t: 'node-request', ...request });
}

export function encodeNodeAnswer(id: string, reply: string | undefined): string {
  return JSON.stringify({ t: 'node-reply', id, reply: reply ?? null });
}

/** Longest name, token or sender accepted from another node (the hub checks names against its own, smaller limit). */
const MAX_TEXT = 4096;
const idPattern = /^[0-9A-Za-z-]{1,64}$/;
// Claim ids go into the name's value after a space.
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const claimPattern = /^[^\s\u0000-\u001f\u007f-\u009f]{1,64}$/;
const deadlinePattern = /^\d{1,16}$/;
const parkedKinds = new Set<string>(['offer', 'answer', 'candidate', 'leave', 'message']);
/** What a tail may carry: whatever was forwarded to the name during the hand-over. */
const tailKinds = new Set<string>([...parkedKinds, 'moved']);

export function encodeRequest(request: Omit<ResumeRequest, 't'>): string {
  return JSON.stringify({ t: 'resume', ...request });
}

export function encodeRefused(id: string, reason: ResumeRefused['reason']): string {
  return JSON.stringify({ t: 'resume-refused', id, reason });
}

export function encodeHanded(id: string, name: string): string {
  return JSON.stringify({ t: 'handed', id, name });
}

/** What reached a name on the node handing it over, after its grant: envelopes as in the grant. */
export function encodeTail(id: string, name: string, envelopes: readonly Envelope[]): string {
  return JSON.stringify({ t: 'resume-tail', id, name, envelopes: envelopes.map(held) });
}

function held(envelope: Envelope): [string, string, string, string] {
  return [envelope.kind, envelope.from, envelope.fromNode, envelope.frame];
}

/** The grant as one JSON text: parked envelopes as `[kind, from, fromNode, frame]` (their `to` is the name). */
export function encodeGrant(id: string, name: string, claim: string, grant: ResumeGrant): string {
  const { id: peerId, remoteAddress, node, joinedAt } = grant.previous;
  return JSON.stringify({
    t: 'resume-grant',
    id,
    name,
    claim,
    grant: {
      previous: { id: peerId, remoteAddress: remoteAddress ?? null, node: node ?? null, joinedAt },
      parked: grant.parked.map(held),
      partners: grant.partners,
    },
  });
}

/** Whether `text` is a control message rather than envelopes. */
export function isControl(text: string): boolean {
  return text.charCodeAt(0) === 123; /* { */
}

/** The control message in `text`, or `undefined` when it is not a well-formed one. */
export function decodeControl(text: string): ControlMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || !isId(value.id)) return undefined;
  switch (value.t) {
    case 'resume': {
      const { id, node, name, token, claim, deadline } = value;
      if (!isNode(node) || !isName(name) || !isText(token) || token.length === 0 || !isClaim(claim)) return undefined;
      if (typeof deadline !== 'string' || !deadlinePattern.test(deadline)) return undefined;
      return { t: 'resume', id: id as string, node, name, token, claim, deadline };
    }
    case 'resume-refused':
      if (value.reason !== 'refused' && value.reason !== 'unavailable') return undefined;
      return { t: 'resume-refused', id: value.id as string, reason: value.reason };
    case 'handed':
      if (!isName(value.name)) return undefined;
      return { t: 'handed', id: value.id as string, name: value.name };
    case 'resume-grant': {
      const { name, claim } = value;
      if (!isName(name) || !isClaim(claim)) return undefined;
      const grant = decodeGrant(value.grant, name);
      return grant === undefined ? undefined : { t: 'resume-grant', id: value.id as string, name, claim, grant };
    }
    case 'resume-tail': {
      const { name } = value;
      if (!isName(name)) return undefined;
      const envelopes = decodeHeld(value.envelopes, name, tailKinds);
      return envelopes === undefined ? undefined : { t: 'resume-tail', id: value.id as string, name, envelopes };
    }
    case 'node-request': {
      const { node, channel, payload } = value;
      if (!isNode(node) || typeof channel !== 'string' || !channelPattern.test(channel)) return undefined;
      if (!isPayload(payload)) return undefined;
      return { t: 'node-request', id: value.id as string, node, channel, payload };
    }
    case 'node-reply': {
      const reply = value.reply;
      if (reply !== null && !isPayload(reply)) return undefined;
      return { t: 'node-reply', id: value.id as string, reply };
    }
    default:
      return undefined;
  }
}

function isPayload(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_NODE_PAYLOAD && isWellFormed(value);
}

function decodeGrant(value: unknown, name: string): ResumeGrant | undefined {
  if (!isObject(value) || !isObject(value.previous) || !Array.isArray(value.parked) || !Array.isArray(value.partners)) {
    return undefined;
  }
  const { id, remoteAddress, node, joinedAt } = value.previous;
  if (!Number.isSafeInteger(id) || !Number.isFinite(joinedAt)) return undefined;
  if (remoteAddress !== null && !isText(remoteAddress)) return undefined;
  if (node !== null && !isNode(node)) return undefined;
  const previous: RemotePeer = {
    id: id as number,
    name,
    remoteAddress: remoteAddress ?? undefined,
    node: node ?? undefined,
    joinedAt: joinedAt as number,
  };
  const parked = decodeHeld(value.parked, name, parkedKinds);
  if (parked === undefined) return undefined;
  const partners: Array<readonly [string, string]> = [];
  for (const entry of value.partners as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2) return undefined;
    const [partner, partnerNode] = entry as unknown[];
    if (!isName(partner) || !isNode(partnerNode)) return undefined;
    partners.push([partner, partnerNode]);
  }
  return { previous, parked, partners };
}

/** Envelopes for `name` as `[kind, from, fromNode, frame]`, each kind one of `kinds`. */
function decodeHeld(value: unknown, name: string, kinds: ReadonlySet<string>): Envelope[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const envelopes: Envelope[] = [];
  for (const entry of value as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 4) return undefined;
    const [kind, from, fromNode, frame] = entry as unknown[];
    if (typeof kind !== 'string' || !kinds.has(kind)) return undefined;
    if (!isText(from) || !isNode(fromNode)) return undefined;
    if (typeof frame !== 'string' || !isWellFormed(frame)) return undefined;
    envelopes.push({ kind: kind as Envelope['kind'], from, fromNode, to: name, frame });
  }
  return envelopes;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): boolean {
  return typeof value === 'string' && idPattern.test(value);
}

function isNode(value: unknown): value is string {
  return typeof value === 'string' && nodeIdPattern.test(value);
}

function isClaim(value: unknown): value is string {
  return typeof value === 'string' && claimPattern.test(value);
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_TEXT && isWellFormed(value);
}

function isName(value: unknown): value is string {
  return isText(value) && value.length > 0;
}
