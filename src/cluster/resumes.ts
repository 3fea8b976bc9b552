import { BackplaneError } from '../core/errors.js';
import type { Envelope, ResumeResult } from '../core/backplane.js';
import type { Claims } from './claims.js';
import type { ClusterContext } from './context.js';
import { type ResumeGranted, type ResumeRefused, encodeRequest } from './control-codec.js';

const NOT_HELD: ResumeResult = { resumed: false, reason: 'not-held' };
const NOT_RESUMED: ResumeResult = { resumed: false, reason: 'unavailable' };

/** Resumes answered `unavailable` here whose grant may still come (remembered to give the name back). */
const MAX_LATE_RESUMES = 1024;

/** A resume this node asked another node for. */
interface PendingResume {
  readonly name: string;
  readonly claimId: string;
  settle(result: ResumeResult): void;
}

/**
 * The resuming side of a resume across nodes: asks the holder's node, waits
 * for its grant or refusal (two command timeouts at most), holds what
 * arrives for the name until the resuming login has joined, and ends a peer
 * whose grant came after its login here had been answered `unavailable`.
 */
export class Resumes {
  /** Resumes asked of other nodes and not answered yet, by request id. */
  private readonly pending = new Map<string, PendingResume>();
  /** Resumes answered `unavailable` here whose grant may still come, by request id. */
  private readonly late = new Map<string, { name: string; claimId: string; timer: ReturnType<typeof setTimeout> }>();
  /**
   * Envelopes for names just granted here, held until the resuming login has
   * joined (the next turn). Read per received envelope: a plain map, checked by size first.
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
    const bus = this.node.bus!;
    const { commandTimeout } = this.node.timing;
    const id = globalThis.crypto.randomUUID();
    // The hand-over must happen well before this node gives up waiting, so that its grant is not late.
    const deadline = bus.deadline(commandTimeout / 2);
    const request = encodeRequest({ id, node: this.node.nodeId, name, token, claim: claimId, deadline });
    return new Promise<ResumeResult>((resolve) => {
      const settle = (result: ResumeResult) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        this.claims.resumingEnded(name, claimId);
        resolve(result);
      };
      const timer = setTimeout(() => {
        if (!this.pending.has(id)) return;
        this.rememberLate(id, name, claimId);
        settle(NOT_RESUMED);
      }, 2 * commandTimeout);
      // Registered first: the grant may arrive on the channel before the request's answer.
      this.pending.set(id, { name, claimId, settle });
      this.claims.resumingStarted(name, claimId);
      bus.requestHandOver(name, request).then(
        (reply) => {
          if (reply === 'expired') return settle(NOT_RESUMED);
          if (reply.holder === '' || reply.holder === this.node.nodeId) return settle(NOT_HELD);
          // The holder does not listen: nobody will answer.
          if (reply.receivers === 0) settle(NOT_RESUMED);
        },
        (error: unknown) => {
          this.node.reportFailure(error);
          // A request whose answer was lost may still be published (within its deadline): its answer may still come.
          if (bus.outcomeOf(error) !== 'unknown') settle(NOT_RESUMED);
        },
      );
    });
  }

  /** The holder refused (one for a request given up on already: nothing to do). */
  refused(message: ResumeRefused): void {
    this.pending.get(message.id)?.settle({ resumed: false, reason: message.reason });
  }

  /** The holder's node handed a name over to this node: the resume succeeds, or, if given up on here, the peer ends. */
  granted(message: ResumeGranted): void {
    const { id, name, claim, grant } = message;
    const pending = this.pending.get(id);
    if (pending !== undefined && pending.name === name && pending.claimId === claim) {
      this.claims.adopt(name, claim);
      // Envelopes published after the grant may be read before the login has joined: they wait for the next turn.
      if (!this.arriving.has(name)) {
        this.arriving.set(name, []);
        setImmediate(() => this.arrived(name));
      }
      pending.settle({ resumed: true, grant });
      return;
    }
    const late = this.late.get(id);
    if (late === undefined || late.name !== name || late.claimId !== claim) {
      this.node.report(new BackplaneError(`Ignored a resume grant for ${JSON.stringify(name)} that this node did not ask for`));
      return;
    }
    this.late.delete(id);
    clearTimeout(late.timer);
    this.abandon(name, claim, grant);
  }

  /** The resuming login has joined (or gone): what arrived for it meanwhile is delivered, in order. */
  private arrived(name: string): void {
    const waiting = this.arriving.get(name);
    this.arriving.delete(name);
    if (waiting === undefined) return;
    for (const envelope of waiting) this.node.host?.deliver(envelope);
  }

  /**
   * A grant that came after the login here was answered `unavailable`: the
   * peer cannot be resumed any more, so it ends as if its grace had run out.
   * The name is given back and the host ends the peer (its partners hear
   * `leave`, the senders of its held relays `peer-gone`).
   */
  private abandon(name: string, claimId: string, grant: ResumeGranted['grant']): void {
    this.node.report(
      new BackplaneError(
        `The hand-over of ${name} arrived after its resume here was answered backplane-unavailable: the name is released and its call partners hear leave`,
      ),
    );
    this.claims.release(name, claimId);
    this.node.host?.grantAbandoned?.(name, grant);
  }

  private rememberLate(id: string, name: string, claimId: string): void {
    if (this.late.size >= MAX_LATE_RESUMES) {
      const [oldest, entry] = this.late.entries().next().value!;
      clearTimeout(entry.timer);
      this.late.delete(oldest);
    }
    // Long enough for a hand-over that was stuck in a stalled bus (its deadline is far shorter).
    const timer = setTimeout(() => this.late.delete(id), Math.max(30_000, 10 * this.node.timing.commandTimeout));
    timer.unref?.();
    this.late.set(id, { name, claimId, timer });
  }

  /** The node leaves: pending resumes are answered `unavailable`. */
  close(): void {
    for (const pending of [...this.pending.values()]) pending.settle(NOT_RESUMED);
    for (const late of this.late.values()) clearTimeout(late.timer);
    this.late.clear();
    this.arriving.clear();
  }
}
