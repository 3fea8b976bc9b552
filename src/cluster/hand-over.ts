import { BackplaneError } from '../core/errors.js';
import type { Envelope, ForwardResult } from '../core/backplane.js';
import type { Claims } from './claims.js';
import type { ClusterContext } from './context.js';
import { type ResumeRequest, encodeGrant, encodeHanded, encodeRefused } from './control-codec.js';

/** Envelopes held per name while it is handed over from this node; past it they are answered `unavailable`. */
const MAX_TRANSFER_QUEUE = 4096;

const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };
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
 * to the name meanwhile waits and then follows it, in order.
 */
export class HandOvers {
  /** Hand-overs from this node, by name. */
  private readonly transfers = new Map<string, Transfer>();

  constructor(
    private readonly node: ClusterContext,
    private readonly claims: Claims,
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
    const offered = host.handOverRequested(request.name, request.token);
    if (offered === undefined) {
      this.refuse(request.node, request.id, 'refused');
      return;
    }
    const { name } = request;
    const grant = encodeGrant(request.id, name, request.claim, offered.grant);
    const limit = this.node.timing.maxGrantBytes;
    const bytes = Buffer.byteLength(grant);
    if (bytes > limit) {
      this.node.report(
        new BackplaneError(
          `Cannot hand ${name} over to node ${request.node}: what is held for it takes ${bytes} bytes, more than ${this.node.timing.maxGrantBytesSource} (${limit})`,
        ),
      );
      host.handOverSettled(name, false);
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
    host?.handOverSettled(transfer.name, committed);
    if (!committed && refusal !== undefined) this.refuse(transfer.to, transfer.id, refusal);
    for (const { envelope, resolve } of transfer.queue) {
      if (committed) {
        void this.node.forward(envelope).then(resolve);
      } else if (envelope.fromNode === this.node.nodeId && (envelope.kind === 'offer' || envelope.kind === 'answer')) {
        // Its sender is told, rather than a call being recorded with this node's id for a local partner.
        resolve(UNAVAILABLE);
      } else {
        const delivered = host?.deliver(envelope) === true;
        resolve(delivered ? { delivered: true, node: this.node.nodeId } : NOT_FOUND);
      }
    }
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
