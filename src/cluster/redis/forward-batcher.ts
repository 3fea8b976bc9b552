import type { Envelope, ForwardResult } from '../../core/backplane.js';
import type { ScriptRunner } from './client.js';
import { encodeFramedEnvelope } from './envelope-codec.js';
import { FORWARD } from './scripts.js';

/**
 * Envelopes per FORWARD call, so that one call never holds Redis for long nor
 * publishes an outsized message.
 */
const MAX_BATCH = 256;

const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };
const NOT_FOUND: ForwardResult = { delivered: false, reason: 'not-found' };

interface Pending {
  envelope: Envelope;
  resolve: (result: ForwardResult) => void;
}

/**
 * Collects the envelopes forwarded in one event-loop turn and sends them in
 * one FORWARD call (one per {@link MAX_BATCH}), which publishes once per
 * destination node: a Redis round trip, a command timer and a PUBLISH per
 * turn instead of per message. Calls are written in the order envelopes were
 * given, on one connection, so one sender's envelopes keep their order.
 */
export class ForwardBatcher {
  private queue: Pending[] = [];
  private timer: ReturnType<typeof setImmediate> | undefined;

  constructor(
    private readonly runner: ScriptRunner,
    private readonly prefix: string,
    private readonly nodeId: string,
    /** A failed call: every envelope in it was answered `unavailable`. */
    private readonly failed: (error: unknown) => void,
  ) {}

  /** Queues `envelope` for the end of this turn; resolves with its own outcome. */
  add(envelope: Envelope): Promise<ForwardResult> {
    return new Promise((resolve) => {
      this.queue.push({ envelope, resolve });
      // setImmediate, not a microtask: it runs after every socket read of this
      // poll phase, so envelopes from many connections share one call.
      this.timer ??= setImmediate(() => this.flush());
    });
  }

  /** Sends what is queued now (also before the node leaves, so that LEAVE comes after it). */
  flush(): void {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    const queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    if (queue.length <= MAX_BATCH) this.send(queue);
    else for (let start = 0; start < queue.length; start += MAX_BATCH) this.send(queue.slice(start, start + MAX_BATCH));
  }

  private send(batch: Pending[]): void {
    const args = [this.prefix, this.nodeId];
    for (const { envelope } of batch) args.push(envelope.to, encodeFramedEnvelope(envelope));
    this.runner.run(FORWARD, [], args).then(
      (reply) => {
        const [holders, published] = reply as [string[], Array<string | number>];
        const outcome = new Map<string, ForwardResult>();
        for (let i = 0; i < published.length; i += 2) {
          const node = published[i] as string;
          // Nobody listened: the holder's subscription is reconnecting and its envelopes are lost.
          outcome.set(node, (published[i + 1] as number) > 0 ? { delivered: true, node } : UNAVAILABLE);
        }
        for (let i = 0; i < batch.length; i++) {
          const holder = holders[i];
          batch[i]!.resolve(holder ? (outcome.get(holder) ?? UNAVAILABLE) : NOT_FOUND);
        }
      },
      (error: unknown) => {
        this.failed(error);
        // A timed-out call may still have published: at most once, never retried.
        for (const pending of batch) pending.resolve(UNAVAILABLE);
      },
    );
  }
}
