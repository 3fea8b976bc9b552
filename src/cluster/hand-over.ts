import { BackplaneError } from '../core/errors.js';
import type { Envelope, ForwardResult } from '../core/backplane.js';
import type { Claims } from './claims.js';
import type { ClusterContext } from './context.js';
import type { KeptGrant, Resumes } from './resumes.js';
import { type ResumeRequest, encodeGrant, encodeHanded, encodeRefused, encodeTail } from './control-codec.js';

/** Envelopes held per name while it is handed over from this node; past it they are answered `unavailable`. */
const MAX_TRANSFER_QUEUE = 4096;

const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };
const ignore = () => {};
const NOT_FOUND: ForwardResult = { delivered: false, reason: 'not-found' };

/** A hand-over of a name from this node to the node where it resumes. */
interface Transfer {
  readonly id: string;
  readonly name: string;
  /** This node's claim id of the name. */
  readonly claimId: string;
  /** The resuming node. */
  readonly to: string;
  readonly deadline: string;
  /** Envelopes for the name forwarded meanwhile: sent on once it is settled. */
  readonly queue: Array<{ envelope: Envelope; resolve: (result: ForwardResult) => void }>;
  /** A grant kept here for a peer that came too late to resume here, handed on (no local holder). */
  readonly kept: KeptGrant | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

/**
 * The holder's side of a resume across nodes. Another node asks for a name
 * held here; the host sets its holder aside (or refuses); then one atomic
 * bus step checks that the claim is still its login's, moves it and
 * publishes the grant to the resuming node, then a marker on this node's
 * own channel. The move is settled with the host once this node has read
 * the marker (so every envelope published here before the move has been read
 * and passed on), or once the bus says it did not happen. What is forwarded
 * to the name meanwhile waits and then follows it, in order, in one tail
 * message on the resuming node's channel: that node holds what reaches the
 * name straight from other nodes until the tail is in, so that a relay that
 * reached this node just before the move is not overtaken by a later one of
 * the same sender that went straight there.
 */
export class HandOvers {
  /** Hand-overs from this node, by name. */
  private readonly transfers = new Map<string, Transfer>();

  constructor(
    private readonly node: ClusterContext,
    private readonly claims: Claims,
    private readonly resumes: Resumes,
  ) {}

  /** Whether any name is being handed over (checked per forward, so it is a plain size test). */
  get active(): boolean {
    return this.transfers.size > 0;
  }

  /**
   * Holds an envelope for a name being handed over until the move is
   * settled; `undefined` when the name is not being handed over.
   */
  hold(envelope: Envelope): Promise<ForwardResult> | undefined {
    const transfer = this.transfers.get(envelope.to);
    if (transfer === undefined) return undefined;
    if (transfer.queue.length >= MAX_TRANSFER_QUEUE) return Promise.resolve(UNAVAILABLE);
    return new Promise((resolve) => transfer.queue.push({ envelope, resolve }));
  }

  /** Another node asks for a name held here. */
  requested(request: ResumeRequest): void {
    const { host, bus } = this.node;
    if (host === undefined || bus === undefined || this.node.closed) return;
    if (request.node === this.node.nodeId) {
      this.node.report(new BackplaneError(`Ignored a resume request for ${JSON.stringify(request.name)} from this node itself`));
      return;
    }
    // A grant that came here too late for its login is the peer's, as a dropped holder would be.
    const kept = this.resumes.takeKept(request.name, request.token);
    const offered = kept ?? host.handOverRequested(request.name, request.token);
    if (offered === undefined) {
      this.refuse(request.node, request.id, 'refused');
      return;
    }
    const { name } = request;
    const grant = encodeGrant(request.id, name, request.claim, offered.grant);
    const limit = this.node.grantLimit;
    const bytes = Buffer.byteLength(grant);
    if (bytes > limit) {
      this.node.report(
        new BackplaneError(
          `Cannot hand ${name} over to node ${request.node}: what is held for it takes ${bytes} bytes, more than ${this.node.grantLimitSource} (${limit})`,
        ),
      );
      if (kept !== undefined) this.resumes.keptSettled(name, kept, false);
      else host.handOverSettled(name, false);
      this.refuse(request.node, request.id, 'unavailable');
      return;
    }
    const transfer: Transfer = {
      id: request.id,
      name,
      claimId: offered.claimId,
      to: request.node,
      deadline: request.deadline,
      queue: [],
      kept,
      timer: undefined,
      done: false,
    };
    this.transfers.set(name, transfer);
    const move = {
      id: request.id,
      name,
      claimId: offered.claimId,
      to: request.node,
      toClaimId: request.claim,
      deadline: request.deadline,
      grant,
      marker: encodeHanded(request.id, name),
    };
    bus.handOver(move).then(
      (reply) => {
        if (transfer.done) return;
        if (reply.moved) {
          // Nobody heard the marker (this node's subscription is down): nothing more will arrive for it.
          if (!reply.markerHeard) this.finish(transfer, true);
          // The marker normally arrives about now; in case it was lost.
          else transfer.timer = setTimeout(() => this.finish(transfer, true), this.node.timing.commandTimeout);
          return;
        }
        this.finish(transfer, false, reply.reason === 'not-held' ? 'refused' : 'unavailable');
      },
      (error: unknown) => {
        if (transfer.done) return;
        this.node.reportFailure(error);
        if (bus.outcomeOf(error) === 'not-sent') this.finish(transfer, false, 'unavailable');
        // Sent, answer lost: it may have taken effect, or still may until its deadline.
        else this.check(transfer);
      },
    );
  }

  /** The marker of hand-over `id` arrived on this node's channel: every envelope published here before the move has been read. */
  marked(id: string, name: string): void {
    const transfer = this.transfers.get(name);
    if (transfer?.id === id) this.finish(transfer, true);
  }

  /** Asks the bus whether a hand-over whose answer was lost took effect, until it is certain. */
  private check(transfer: Transfer): void {
    const again = () => {
      if (!transfer.done) transfer.timer = setTimeout(attempt, this.node.timing.retryInterval);
    };
    const attempt = () => {
      transfer.timer = undefined;
      const bus = this.node.bus;
      if (transfer.done || this.node.closed || bus === undefined) return;
      if (!bus.ready || bus.congestion() !== undefined) return again();
      bus.handedOver(transfer.id, transfer.deadline).then(
        (moved) => {
          if (transfer.done) return;
          if (moved === true) this.finish(transfer, true);
          else if (moved === false) this.finish(transfer, false, 'unavailable');
          else again();
        },
        (error: unknown) => {
          this.node.reportFailure(error);
          again();
        },
      );
    };
    attempt();
  }

  /**
   * Settles a hand-over with the host and passes on what was forwarded to
   * the name meanwhile: to its new node, or, when it stayed here, to its holder.
   */
  private finish(transfer: Transfer, committed: boolean, refusal?: 'refused' | 'unavailable'): void {
    if (transfer.done) return;
    transfer.done = true;
    clearTimeout(transfer.timer);
    if (this.transfers.get(transfer.name) === transfer) this.transfers.delete(transfer.name);
    if (committed) this.claims.forget(transfer.name, transfer.claimId);
    const host = this.node.host;
    if (transfer.kept !== undefined) {
      const read = this.resumes.keptSettled(transfer.name, transfer.kept, committed);
      // Envelopes read here for a kept name before the move: first in the tail.
      if (read.length > 0) transfer.queue.unshift(...read.map((envelope) => ({ envelope, resolve: ignore })));
    } else host?.handOverSettled(transfer.name, committed);
    if (!committed && refusal !== undefined) this.refuse(transfer.to, transfer.id, refusal);
    if (committed) {
      this.sendTail(transfer);
      return;
    }
    const waiting = transfer.kept === undefined ? undefined : this.resumes.arriving.get(transfer.name);
    for (const { envelope, resolve } of transfer.queue) {
      if (waiting !== undefined) {
        // Kept again with its grant, for the peer's next attempt.
        waiting.push(envelope);
        resolve({ delivered: true, node: this.node.nodeId });
      } else if (envelope.fromNode === this.node.nodeId && (envelope.kind === 'offer' || envelope.kind === 'answer')) {
        // Its sender is told, rather than a call being recorded with this node's id for a local partner.
        resolve(UNAVAILABLE);
      } else {
        const delivered = host?.deliver(envelope) === true;
        resolve(delivered ? { delivered: true, node: this.node.nodeId } : NOT_FOUND);
      }
    }
  }

  /**
   * Sends what was forwarded to a handed-over name meanwhile to its new node
   * in one tail message (sent even when empty: that node waits for it). What
   * does not fit in one grant's limit, or is not published, is answered
   * `unavailable` (its senders are told).
   */
  private sendTail(transfer: Transfer): void {
    const bus = this.node.bus;
    const limit = this.node.grantLimit;
    const envelopes: Envelope[] = [];
    const waiting: Array<(result: ForwardResult) => void> = [];
    // JSON escapes a UTF-16 unit to at most 6 bytes: an upper bound, without encoding twice.
    let bytes = 256;
    for (const { envelope, resolve } of transfer.queue) {
      bytes += 6 * (envelope.frame.length + envelope.from.length) + envelope.fromNode.length + 32;
      if (bytes > limit) resolve(UNAVAILABLE);
      else {
        envelopes.push(envelope);
        waiting.push(resolve);
      }
    }
    const settle = (result: ForwardResult) => {
      for (const resolve of waiting) resolve(result);
    };
    if (bus === undefined || !bus.ready || this.node.closed) return settle(UNAVAILABLE);
    const delivered: ForwardResult = { delivered: true, node: transfer.to };
    bus.publish(transfer.to, encodeTail(transfer.id, transfer.name, envelopes)).then(
      (receivers) => settle(receivers > 0 ? delivered : UNAVAILABLE),
      (error: unknown) => {
        this.node.reportFailure(error);
        settle(UNAVAILABLE);
      },
    );
  }

  /** Answers a resume request negatively on the resuming node's channel. */
  refuse(node: string, id: string, reason: 'refused' | 'unavailable'): void {
    const bus = this.node.bus;
    if (bus === undefined || !bus.ready || this.node.closed) return;
    bus.publish(node, encodeRefused(id, reason)).catch((error: unknown) => this.node.reportFailure(error));
  }

  /** The node leaves: what waits for a hand-over is answered `unavailable`. */
  close(): void {
    for (const transfer of this.transfers.values()) {
      transfer.done = true;
      clearTimeout(transfer.timer);
      for (const { resolve } of transfer.queue) resolve(UNAVAILABLE);
    }
    this.transfers.clear();
  }
}
