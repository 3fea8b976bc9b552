import { BackplaneError } from '../core/errors.js';
import type { Envelope, ResumeGrant, ResumeResult } from '../core/backplane.js';
import type { Claims } from './claims.js';
import type { ClusterContext } from './context.js';
import { type ResumeGranted, type ResumeRefused, type ResumeTail, encodeRequest } from './control-codec.js';

const NOT_HELD: ResumeResult = { resumed: false, reason: 'not-held' };
const NOT_RESUMED: ResumeResult = { resumed: false, reason: 'unavailable' };

/** Resumes answered `unavailable` here whose grant may still come (remembered to give the name back). */
const MAX_LATE_RESUMES = 1024;

/**
 * Envelopes held for one name between its grant and its login's join; past
 * it, the wait for the old node's tail is given up (the hand-over's own queue
 * has the same bound).
 */
export const MAX_ARRIVING = 4096;

/** A grant that came too late for its login, kept for the peer's next attempt. */
interface Kept {
  readonly name: string;
  /** The claim id the name moved here under. */
  readonly claimId: string;
  readonly token: string;
  readonly grant: ResumeGrant;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A kept grant taken out to be used (by a login here, or handed over to another node). */
export interface KeptGrant {
  readonly claimId: string;
  readonly grant: ResumeGrant;
  readonly token: string;
}

/** A resume this node asked another node for. */
interface PendingResume {
  readonly name: string;
  readonly claimId: string;
  /** The grant, once it came: the resume then waits for the old node's tail. */
  grant: ResumeGrant | undefined;
  /** Gives up waiting (for the answer, or for the tail). */
  timer: ReturnType<typeof setTimeout> | undefined;
  settle(result: ResumeResult): void;
}

/**
 * The resuming side of a resume across nodes: asks the holder's node, waits
 * for its grant or refusal (two command timeouts at most), then for the
 * tail of what reached the name there during the hand-over (one command
 * timeout at most), holds what arrives for the name straight from other
 * nodes until the resuming login has joined, and ends a peer whose grant
 * came after its login here had been answered `unavailable`.
 *
 * Order, per sender: what the old node held (the grant) and what reached it
 * until the move (the tail) are delivered right after the login reply, then
 * what this node parked for the login, then what came straight here.
 */
export class Resumes {
  /** Resumes asked of other nodes and not answered yet, by request id. */
  private readonly pending = new Map<string, PendingResume>();
  /** Resumes answered `unavailable` here whose grant may still come, by request id. */
  private readonly late = new Map<
    string,
    { name: string; claimId: string; token: string; timer: ReturnType<typeof setTimeout> }
  >();
  /**
   * Grants that came after their login here had been answered `unavailable`,
   * by name: kept for a while, for the peer's next attempt (its client retries
   * on `backplane-unavailable`) here or on another node, rather than ending a
   * peer that is coming back.
   */
  private readonly kept = new Map<string, Kept>();
  /**
   * Envelopes for names granted here, held until the resuming login has
   * joined (the turn after the resume settles). Read per received envelope: a
   * plain map, checked by size first.
   */
  readonly arriving = new Map<string, Envelope[]>();

  constructor(
    private readonly node: ClusterContext,
    private readonly claims: Claims,
  ) {}

  /**
   * Asks the node holding `name` to hand it over for a login here under
   * `claimId` (the bus is ready: the backplane checked). `not-held` when no
   * live node (or this one) holds the name; `refused` when the holder
   * refused; `unavailable` when the bus or the holder did not answer within
   * two command timeouts.
   */
  resume(name: string, token: string, claimId: string): Promise<ResumeResult> {
    const kept = this.takeKept(name, token);
    if (kept !== undefined) return this.resumeKept(kept, claimId);
    const bus = this.node.bus!;
    const { commandTimeout } = this.node.timing;
    const id = globalThis.crypto.randomUUID();
    // The hand-over must happen well before this node gives up waiting, so that its grant is not late.
    const deadline = bus.deadline(commandTimeout / 2);
    const request = encodeRequest({ id, node: this.node.nodeId, name, token, claim: claimId, deadline });
    return new Promise<ResumeResult>((resolve) => {
      const pending: PendingResume = {
        name,
        claimId,
        grant: undefined,
        timer: undefined,
        settle: (result) => {
          if (!this.pending.delete(id)) return;
          clearTimeout(pending.timer);
          this.claims.resumingEnded(name, claimId);
          resolve(result);
        },
      };
      pending.timer = setTimeout(() => {
        if (!this.pending.has(id)) return;
        this.rememberLate(id, name, claimId, token);
        pending.settle(NOT_RESUMED);
      }, 2 * commandTimeout);
      // Registered first: the grant may arrive on the channel before the request's answer.
      this.pending.set(id, pending);
      this.claims.resumingStarted(name, claimId);
      const failed = (result: ResumeResult) => {
        if (pending.grant === undefined) pending.settle(result);
      };
      bus.requestHandOver(name, request).then(
        (reply) => {
          if (reply === 'expired') return failed(NOT_RESUMED);
          if (reply.holder === '' || reply.holder === this.node.nodeId) return failed(NOT_HELD);
          // The holder does not listen: nobody will answer.
          if (reply.receivers === 0) failed(NOT_RESUMED);
        },
        (error: unknown) => {
          this.node.reportFailure(error);
          // A request whose answer was lost may still be published (within its deadline): its answer may still come.
          if (bus.outcomeOf(error) !== 'unknown') failed(NOT_RESUMED);
        },
      );
    });
  }

  /** The holder refused (one for a request given up on already, or granted: nothing to do). */
  refused(message: ResumeRefused): void {
    const pending = this.pending.get(message.id);
    if (pending?.grant === undefined) pending?.settle({ resumed: false, reason: message.reason });
  }

  /** The holder's node handed a name over to this node: the resume succeeds, or, if given up on here, the peer ends. */
  granted(message: ResumeGranted): void {
    const { id, name, claim, grant } = message;
    const pending = this.pending.get(id);
    if (pending !== undefined && pending.name === name && pending.claimId === claim) {
      if (pending.grant !== undefined) return;
      this.claims.adopt(name, claim);
      pending.grant = grant;
      // Envelopes published after the grant may be read before the login has joined: they wait for it.
      if (!this.arriving.has(name)) this.arriving.set(name, []);
      clearTimeout(pending.timer);
      // The old node sends its tail once it read its marker, normally at once; a node that died never will.
      pending.timer = setTimeout(() => this.join(id, pending, undefined), this.node.timing.commandTimeout);
      return;
    }
    const late = this.late.get(id);
    if (late === undefined || late.name !== name || late.claimId !== claim) {
      this.node.report(new BackplaneError(`Ignored a resume grant for ${JSON.stringify(name)} that this node did not ask for`));
      return;
    }
    this.late.delete(id);
    clearTimeout(late.timer);
    this.keep(name, claim, late.token, grant);
  }

  /** The old node's tail of a hand-over to this node: the resume succeeds with it. */
  tailed(message: ResumeTail): void {
    const pending = this.pending.get(message.id);
    if (pending?.grant !== undefined && pending.name === message.name) {
      this.join(message.id, pending, message.envelopes);
      return;
    }
    // Came after its wait was given up: late (out of order), but not lost.
    for (const envelope of message.envelopes) void this.node.forward(envelope);
  }

  /** Too much arrived for `name` while its tail is awaited: the resume goes on without it (it will come late). */
  overflowed(name: string): void {
    const kept = this.kept.get(name);
    // Nobody came back for it within what may be held: the peer ends, the senders are told.
    if (kept !== undefined) return this.abandonKept(kept);
    for (const [id, pending] of this.pending)
      if (pending.name === name && pending.grant !== undefined) this.join(id, pending, undefined);
  }

  /** Settles a granted resume: the grant's held relays, then the tail's, go to the login; what came straight here follows its join. */
  private join(id: string, pending: PendingResume, tail: readonly Envelope[] | undefined): void {
    if (this.pending.get(id) !== pending || pending.grant === undefined) return;
    const { name } = pending;
    let grant = pending.grant;
    if (tail !== undefined && tail.length > 0) {
      const moved = tail.filter((envelope) => envelope.kind === 'moved');
      const held = moved.length === 0 ? tail : tail.filter((envelope) => envelope.kind !== 'moved');
      grant = { ...grant, parked: [...grant.parked, ...held] };
      // Nothing for the client: the host learns where a partner went once the login has joined.
      if (moved.length > 0) this.arriving.get(name)?.unshift(...moved);
    }
    pending.settle({ resumed: true, grant });
    setImmediate(() => this.arrived(name));
  }

  /** The resuming login has joined (or gone): what arrived for it meanwhile is delivered, in order. */
  private arrived(name: string): void {
    const waiting = this.arriving.get(name);
    this.arriving.delete(name);
    if (waiting === undefined) return;
    for (const envelope of waiting) this.node.host?.deliver(envelope);
  }

  /**
   * A grant that came after the login here was answered `unavailable`, and
   * the peer did not try again in time: it ends as if its grace had run out.
   * The name is given back and the host ends the peer (its partners hear
   * `leave`, the senders of its held relays `peer-gone`).
   */
  private abandon(name: string, claimId: string, grant: ResumeGranted['grant']): void {
    this.node.report(
      new BackplaneError(
        `The hand-over of ${name} arrived after its resume here was answered backplane-unavailable, and the peer did not try again in time: the name is released and its call partners hear leave`,
      ),
    );
    this.claims.release(name, claimId);
    this.node.host?.grantAbandoned?.(name, grant);
  }

  /**
   * Keeps a grant that came too late for its login (the name is this node's
   * now) for the peer's next attempt; what arrives for the name meanwhile is
   * held with it. Past the wait (ten command timeouts) the peer ends.
   */
  private keep(name: string, claimId: string, token: string, grant: ResumeGrant): void {
    const earlier = this.kept.get(name);
    if (earlier !== undefined) this.abandonKept(earlier);
    this.claims.adopt(name, claimId);
    if (!this.arriving.has(name)) this.arriving.set(name, []);
    const kept: Kept = {
      name,
      claimId,
      token,
      grant,
      timer: setTimeout(() => {
        if (this.kept.get(name) === kept) this.abandonKept(kept);
      }, 10 * this.node.timing.commandTimeout),
    };
    this.kept.set(name, kept);
  }

  /**
   * A kept grant for `name` whose token is `token`, taken out with what
   * arrived for the name meanwhile appended to its held relays.
   */
  takeKept(name: string, token: string): KeptGrant | undefined {
    const kept = this.kept.get(name);
    if (kept === undefined || !sameSecret(kept.token, token)) return undefined;
    this.kept.delete(name);
    clearTimeout(kept.timer);
    const grant = this.withArrived(kept.grant);
    // What arrives from now on is held too, until the name's next holder is settled (see keptSettled, resumeKept).
    this.arriving.set(name, []);
    return { claimId: kept.claimId, token: kept.token, grant };
  }

  /** A kept grant handed over again did not move (`false`): kept as before; or it did: nothing is left here. */
  keptSettled(name: string, taken: KeptGrant, moved: boolean): Envelope[] {
    if (!moved) {
      this.keep(name, taken.claimId, taken.token, taken.grant);
      return [];
    }
    this.claims.forget(name, taken.claimId);
    // Read here before the move: they go on with the tail.
    const waiting = this.arriving.get(name) ?? [];
    this.arriving.delete(name);
    return waiting;
  }

  /** The peer of a kept grant tries again here: its login takes the name over under its own claim id. */
  private async resumeKept(kept: KeptGrant, claimId: string): Promise<ResumeResult> {
    const { name } = kept.grant.previous;
    const claimed = await this.claims.claim(name, claimId);
    if (claimed === 'claimed') {
      setImmediate(() => this.arrived(name));
      return { resumed: true, grant: kept.grant };
    }
    if (claimed === 'unavailable' && !this.node.closed) this.keep(name, kept.claimId, kept.token, kept.grant);
    else this.abandon(name, kept.claimId, this.withArrived(kept.grant));
    return NOT_RESUMED;
  }

  /** `grant` with what arrived for its name since (but `moved` notes) appended to its held relays. */
  private withArrived(grant: ResumeGrant): ResumeGrant {
    const name = grant.previous.name;
    const waiting = this.arriving.get(name);
    this.arriving.delete(name);
    if (waiting === undefined || waiting.length === 0) return grant;
    return { ...grant, parked: [...grant.parked, ...waiting.filter((envelope) => envelope.kind !== 'moved')] };
  }

  /** The node leaves: every kept grant's peer ends (its partners hear `leave`, its held relays' senders `peer-gone`). */
  abandonAllKept(): void {
    for (const kept of [...this.kept.values()]) this.abandonKept(kept);
  }

  private abandonKept(kept: Kept): void {
    this.kept.delete(kept.name);
    clearTimeout(kept.timer);
    this.abandon(kept.name, kept.claimId, this.withArrived(kept.grant));
  }

  private rememberLate(id: string, name: string, claimId: string, token: string): void {
    if (this.late.size >= MAX_LATE_RESUMES) {
      const [oldest, entry] = this.late.entries().next().value!;
      clearTimeout(entry.timer);
      this.late.delete(oldest);
    }
    // Long enough for a hand-over that was stuck in a stalled bus (its deadline is far shorter).
    const timer = setTimeout(() => this.late.delete(id), Math.max(30_000, 10 * this.node.timing.commandTimeout));
    timer.unref?.();
    this.late.set(id, { name, claimId, token, timer });
  }

  /** The node leaves: pending resumes are answered `unavailable`. */
  close(): void {
    for (const pending of [...this.pending.values()]) pending.settle(NOT_RESUMED);
    for (const late of this.late.values()) clearTimeout(late.timer);
    this.late.clear();
    for (const kept of this.kept.values()) clearTimeout(kept.timer);
    this.kept.clear();
    this.arriving.clear();
  }
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
