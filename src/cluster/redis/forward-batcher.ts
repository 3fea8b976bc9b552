import type { Envelope, ForwardResult } from '../../core/backplane.js';
import type { ScriptRunner } from './client.js';
import { encodeFramedEnvelope } from '../envelope-codec.js';
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
 * one FORWARD call (one per {@link MAX_BATCH} envelopes or
 * {@link ScriptRunner.forwardBatchBytes} bytes), which publishes once per
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
    const limit = this.runner.forwardBatchBytes;
    let batch: Pending[] = [];
    let args: string[] = [];
    let length = 0;
    for (const pending of queue) {
      const framed = encodeFramedEnvelope(pending.envelope);
      // In UTF-16 units (no encoding here): a batch's UTF-8 bytes are at most three times its limit.
      const size = framed.length + pending.envelope.to.length;
      if (batch.length > 0 && (batch.length === MAX_BATCH || length + size > limit)) {
        this.send(batch, args);
        batch = [];
        args = [];
        length = 0;
      }
      batch.push(pending);
      args.push(pending.envelope.to, framed);
      length += size;
    }
    this.send(batch, args);
  }

  private send(batch: Pending[], envelopes: string[]): void {
    // The deadline is taken as the call is written: past it, Redis drops the whole call.
    const args = [this.prefix, this.nodeId, this.runner.deadline(), ...envelopes];
    this.runner.run(FORWARD, [], args, 'forward').then(
      (reply) => {
        if (reply === -2) {
          // Redis ran it after this node gave up on it: nothing was published.
          for (const pending of batch) pending.resolve(UNAVAILABLE);
          return;
        }
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
