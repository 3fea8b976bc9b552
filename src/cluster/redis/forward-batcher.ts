import type { Envelope, ForwardDone } from '../../core/backplane.js';
import type { ScriptRunner } from './client.js';
import { type EnvelopeParts, partsBound, partsSize, writeFramedParts } from '../envelope-codec.js';
import { RedisBusyError, RedisOfflineError, RedisTimeoutError } from './errors.js';
import { BATCH, GATED } from './keys.js';
import { FORWARD } from './forward-scripts.js';
import type { NodeLink } from '../links/node-link.js';
import { NodeLinkError } from '../links/errors.js';
import { TargetCache, UNAVAILABLE } from './target-cache.js';

/** How the batcher reaches other nodes' links (see links/node-links.ts). */
export interface LinkPath {
  /** The open link to `node`, when this node may send by link now (its own lease is current). */
  link(node: string): NodeLink | undefined;
  /** Bytes a link may have in flight, and batches may wait behind links, at most. */
  readonly maxBytes: number;
}

/**
 * Envelopes per call (FORWARD or GATE), so that one call never holds Redis for long nor
 * publishes an outsized message.
 */
const MAX_BATCH = 256;

/**
 * How long, in ms, batches go through FORWARD after a GATE transaction failed: while a Redis Cluster
 * migrates the slot, a transaction over several keys is refused (TRYAGAIN) where FORWARD's one script
 * still runs on the source.
 */
const GATE_PAUSE_MS = 1000;

/**
 * The size of a buffer batches are written into, one after the other (a larger one while a batch
 * does not fit): a batch is a view of it, never written over, as the client holds it until it is sent.
 */
const SLAB_BYTES = 64 * 1024;

/**
 * A queued envelope, already written into the slab (ending `end` bytes after the queue's first
 * envelope starts, so that moving the queue to another slab moves it too), its size as batches
 * are cut, and who hears its outcome.
 */
interface Pending extends EnvelopeParts {
  readonly done: ForwardDone;
  size: number;
  end: number;
}

/** `queue[from, to)`, written in `batch`, not sent yet; or a call to Redis that must keep its place among them. */
type Held = { queue: readonly Pending[]; from: number; to: number; batch: Buffer } | { call: () => void };

/**
 * Collects the envelopes forwarded in one event-loop turn (or, while a
 * call waits for Redis, until it is answered) and sends them in one
 * call (one per {@link MAX_BATCH} envelopes or
 * {@link ScriptRunner.forwardBatchBytes} bytes), which publishes once per
 * destination node: a Redis round trip, a command timer and a PUBLISH per
 * batch instead of per message. Calls are written in the order envelopes were
 * given, on one connection, so one sender's envelopes keep their order.
 *
 * A batch travels as one buffer: each envelope is encoded once, straight
 * into it, byte-framed, and Redis publishes that buffer as it is when one
 * node holds every target, so neither Redis nor the receiving node handles
 * the envelopes one by one as strings. When this node saw that node hold them
 * all, the buffer goes through GATE's transaction and never into Lua.
 */
export class ForwardBatcher {
  private queue: Pending[] = [];
  private timer: ReturnType<typeof setImmediate> | undefined;
  /** The queue's size in UTF-16 units (its envelopes' texts and targets), as flush() counts it. */
  private queuedSize = 0;
  /** Where targets were seen lately, and the nodes' epochs then (see FORWARD and GATE). */
  private readonly cache = new TargetCache();
  /**
   * Where queued envelopes are written as they come, byte-framed (so a frame given as bytes is
   * copied once, straight into its batch): `[first, used)` holds the queue's, what lies before
   * `first` was sent.
   */
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private first = 0;
  private used = 0;
  /** Calls written and not answered yet. */
  private waiting = 0;
  /** Until when (`performance.now()`) batches go through FORWARD, after a GATE transaction failed. */
  private gateAfter = 0;
  /** Where this node's batch waits for GATE, inside one transaction. */
  private readonly batchKey: string;
  /**
   * The node whose link carries the calls waiting now (`undefined`: they went to Redis). Calls
   * in flight all go one way: a batch that would go the other way waits in `held` until they
   * are answered, so that nothing sent later overtakes them on a faster path.
   */
  private linkNode: string | undefined;
  /** Batches (and Redis calls) waiting for the calls in flight to be answered, in order, and their bytes. */
  private held: Held[] = [];
  private heldBytes = 0;
  /** Envelopes a link refused, to go through Redis (before anything held) once the link's calls are answered. */
  private retry: Held[] = [];
  /** Who waits in drained(). */
  private whenDrained: Array<() => void> = [];

  constructor(
    private readonly runner: ScriptRunner,
    private readonly prefix: string,
    private readonly nodeId: string,
    /** A failed call: every envelope in it was answered `unavailable`. */
    private readonly failed: (error: unknown) => void,
    /** Links to other nodes, when this node has them (`links` option). */
    private readonly links?: LinkPath,
  ) {
    this.batchKey = prefix + BATCH + nodeId;
  }

  /**
   * Queues an envelope (its frame as text, or bytes valid only during the call); `done` hears its outcome. It goes at the end of
   * this turn when no call is waiting for Redis, else with the batch
   * sent at the end of the turn that call is answered in (group commit: under load a batch holds
   * what several turns forwarded, so Redis runs one script and one PUBLISH
   * for many more envelopes; an idle node still sends at the end of the
   * turn). A held batch goes at once when it is full, so that what waits here
   * stays within one batch and the runner's in-flight caps bound the rest.
   */
  add(kind: Envelope['kind'], fromNode: string, from: string, to: string, frame: string | Uint8Array, done: ForwardDone): void {
    // One shape for both kinds of frame. Bytes are valid only during the call: written into the slab now.
    const text = typeof frame === 'string' ? frame : undefined;
    const length = text === undefined ? (frame as Uint8Array).length : 0;
    const pending: Pending = { kind, fromNode, from, to, text, length, done, size: 0, end: 0 };
    // Measured as flush() cuts batches, so a full held batch is exactly one call.
    const size = (pending.size = partsSize(pending));
    const bound = partsBound(pending);
    if (this.used + bound > this.slab.length) this.newSlab(bound);
    this.used = writeFramedParts(this.slab, this.used, pending, frame as Uint8Array);
    pending.end = this.used - this.first;
    this.queue.push(pending);
    this.queuedSize += size;
    if (this.queue.length >= MAX_BATCH || this.queuedSize >= this.runner.forwardBatchBytes) this.flush();
    // setImmediate, not a microtask: it runs after every socket read of this
    // poll phase, so envelopes from many connections share one call.
    else if (this.waiting === 0) this.timer ??= setImmediate(this.flushNow);
  }

  /**
   * A fresh slab with room for the queue's envelopes, moved there, and `bound` more bytes. The old
   * one is left as it is: batches sent from it may not be written to Redis yet.
   */
  private newSlab(bound: number): void {
    const old = this.slab;
    const first = this.first;
    const kept = this.used - first;
    const slab = (this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, 2 * (kept + bound))));
    old.copy(slab, 0, first, this.used);
    this.first = 0;
    this.used = kept;
  }

  private readonly flushNow = (): void => this.flush();

  /**
   * Sends what is queued now: at the end of a turn (while a call waits, the
   * turn it is answered in), when a batch is full, and before any other command of this node (the runner calls it), so that
   * commands keep the order they were made in.
   */
  flush(): void {
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    const queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    this.queuedSize = 0;
    // The queue's envelopes lie in this slab, from `first` on: they are sent now (what is added
    // meanwhile goes after them, or, moved, into another slab).
    const slab = this.slab;
    const base = this.first;
    let start = base;
    this.first = base + queue[queue.length - 1]!.end;
    const limit = this.runner.forwardBatchBytes;
    let from = 0;
    let length = 0;
    for (let i = 0; i < queue.length; i++) {
      // In UTF-16 units for text (no encoding here): a batch's UTF-8 bytes are at most three times its limit.
      const size = queue[i]!.size;
      if (i > from && (i - from === MAX_BATCH || length + size > limit)) {
        const end = base + queue[i - 1]!.end;
        this.send(queue, from, i, slab.subarray(start, end));
        from = i;
        start = end;
        length = 0;
      }
      length += size;
    }
    this.send(queue, from, queue.length, slab.subarray(start, this.first));
    // After a burst that needed a larger slab, a small one again (the large one goes once its batches are written).
    if (this.queue.length === 0 && this.slab.length > 4 * SLAB_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.first = this.used = 0;
    }
  }

  /**
   * A call was answered (or failed): what was held behind it goes at the end
   * of this turn, with what the rest of the turn's reads forward (sent at
   * once, it went in smaller batches: more Redis calls for the same messages).
   */
  private answered(): void {
    if (--this.waiting > 0) return;
    this.linkNode = undefined;
    if (this.retry.length > 0 || this.held.length > 0) this.sendHeld();
    if (this.waiting === 0 && this.queue.length > 0) this.timer ??= setImmediate(this.flushNow);
    if (this.whenDrained.length > 0 && this.linkNode === undefined && this.held.length === 0 && this.retry.length === 0) {
      for (const resolve of this.whenDrained.splice(0)) resolve();
    }
  }

  /**
   * Runs `call` (a command to Redis) in its place among the batches: at once when nothing goes
   * by link now, else once the link's calls are answered. Without links, at once.
   */
  viaRedis<T>(call: () => Promise<T>): Promise<T> {
    if (this.links === undefined) return call();
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        this.waiting++;
        call().then(
          (value) => {
            this.answered();
            resolve(value);
          },
          (error: unknown) => {
            this.answered();
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the call's own reason, passed on
            reject(error);
          },
        );
      };
      if (this.held.length === 0 && this.retry.length === 0 && (this.waiting === 0 || this.linkNode === undefined)) run();
      else this.held.push({ call: run });
    });
  }

  /** Resolves once nothing is in flight on links nor waits behind them (a leaving node's last batches are answered). */
  drained(): Promise<void> {
    if (this.linkNode === undefined && this.held.length === 0 && this.retry.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenDrained.push(resolve));
  }

  /** Sends what waits, retries first, until one has to wait again. */
  private sendHeld(): void {
    for (;;) {
      const list = this.retry.length > 0 ? this.retry : this.held;
      const next = list[0];
      if (next === undefined) return;
      if ('call' in next) {
        if (this.waiting > 0 && this.linkNode !== undefined) return;
        list.shift();
        next.call();
        continue;
      }
      if (!this.trySend(next.queue, next.from, next.to, next.batch)) return;
      list.shift();
      if (list === this.held) this.heldBytes -= next.batch.length;
    }
  }

  /**
   * Sends `queue[from, to)` in one call (`batch`: their envelopes, written by add()).
   * When one node held every target under the epoch last seen for it, the
   * batch goes through GATE, which lets Redis publish it without reading a
   * name (nor handing it to Lua) while that epoch holds; the names go along
   * for when it does not. Otherwise FORWARD reads the names.
   */
  private send(queue: readonly Pending[], from: number, to: number, batch: Buffer): void {
    if ((this.held.length === 0 && this.retry.length === 0) || this.links === undefined) {
      if (this.trySend(queue, from, to, batch)) return;
    }
    if (this.heldBytes + batch.length > this.links!.maxBytes) {
      // Links (and Redis behind them) do not keep up: refused like a command over Redis's in-flight caps.
      this.failed(new NodeLinkError(this.linkNode ?? '', 'busy', `${this.heldBytes} bytes already wait behind the link`));
      for (let i = from; i < to; i++) queue[i]!.done(UNAVAILABLE);
      return;
    }
    this.held.push({ queue, from, to, batch });
    this.heldBytes += batch.length;
  }

  /** send() now, or false when the batch must wait for the calls in flight (they go by a link it cannot take). */
  private trySend(queue: readonly Pending[], from: number, to: number, batch: Buffer): boolean {
    const plan = this.cache.plan(queue, from, to);
    const { names, index, seen } = plan;
    let link: NodeLink | undefined;
    if (this.waiting > 0 && this.linkNode !== undefined) {
      // A link's calls are in flight: only a batch for that link may go now, within its bytes.
      link = seen === this.linkNode ? this.links!.link(seen) : undefined;
      if (link === undefined || !link.accepts(batch.length, this.links!.maxBytes)) return false;
    } else if (seen && this.waiting === 0 && this.links !== undefined) {
      link = this.links.link(seen);
      if (link !== undefined && !link.accepts(batch.length, this.links.maxBytes)) link = undefined;
    }
    if (link !== undefined) {
      this.sendLinked(link, queue, from, to, batch);
      return true;
    }
    const distinct = plan.targets.length;
    const deadline = this.runner.deadline();
    const indexes = distinct < to - from ? index : '';
    this.waiting++;
    const failed = (error: unknown) => {
      this.answered();
      this.failed(error);
      // A timed-out call may still have published: at most once, never retried.
      for (let i = from; i < to; i++) queue[i]!.done(UNAVAILABLE);
    };
    if (seen && performance.now() >= this.gateAfter) {
      // The batch is not handed to Lua (see GATE): GATE approves it, or routes it as FORWARD does.
      const refused = (error: unknown) => {
        // Redis refused the transaction (not this node's caps, nor a timeout or a lost connection).
        const own = error instanceof RedisBusyError || error instanceof RedisOfflineError || error instanceof RedisTimeoutError;
        if (!own) this.gateAfter = performance.now() + GATE_PAUSE_MS;
        failed(error);
      };
      const gate = [this.prefix, this.nodeId, deadline, seen, this.cache.epochOf(seen)!, indexes, names];
      this.runner.gated(this.batchKey, batch, gate, this.prefix + GATED + seen).then((reply) => {
        const [, answer, receivers] = reply as [unknown, unknown, number];
        if (answer instanceof Error) {
          // NOSCRIPT (Redis lost its scripts): the batch went unapproved, so its node dropped it.
          if (answer.message.startsWith('NOSCRIPT')) this.runner.load().catch(() => {});
          refused(answer);
          return;
        }
        this.answered();
        if (answer === 1) {
          const result = receivers > 0 ? this.cache.deliveredTo(seen) : UNAVAILABLE;
          for (let i = from; i < to; i++) queue[i]!.done(result);
          return;
        }
        this.cache.answer(answer, queue, from, to, plan);
      }, refused);
      return true;
    }
    const args = [this.prefix, this.nodeId, deadline, batch, indexes, names];
    this.runner.run(FORWARD, [], args, 'forward').then((reply) => {
      this.answered();
      this.cache.answer(reply, queue, from, to, plan);
    }, failed);
    return true;
  }

  /**
   * Sends `queue[from, to)` on the link to the node this node saw hold every target. The far node
   * delivers what it holds and refuses the rest; refused envelopes go through Redis, in order,
   * once the link's calls are answered, their targets no longer taken for that node's.
   */
  private sendLinked(link: NodeLink, queue: readonly Pending[], from: number, to: number, batch: Buffer): void {
    this.waiting++;
    this.linkNode = link.node;
    let cleared = '';
    if (link.refused.size > 0) {
      for (let i = from; i < to; i++) {
        const target = queue[i]!.to;
        if (link.refused.delete(target)) cleared = cleared === '' ? target : cleared + '\t' + target;
      }
    }
    const delivered = this.cache.deliveredTo(link.node);
    link.send(batch, cleared, (refused) => {
      if (refused instanceof NodeLinkError) {
        this.answered();
        this.failed(refused);
        // As for a timed-out call: it may have been delivered, at most once, never re-sent.
        for (let i = from; i < to; i++) queue[i]!.done(UNAVAILABLE);
        return;
      }
      if (refused.length > 0) this.retryLater(link, queue, from, to, batch, refused);
      this.answered();
      let next = 0;
      for (let i = from; i < to; i++) {
        if (refused[next] === i - from) next++;
        else queue[i]!.done(delivered);
      }
    });
  }

  /** Queues the envelopes of `queue[from, to)` the link refused (indexes into it, ascending) for Redis. */
  private retryLater(
    link: NodeLink,
    queue: readonly Pending[],
    from: number,
    to: number,
    batch: Buffer,
    refused: readonly number[],
  ): void {
    const base = from === 0 ? 0 : queue[from - 1]!.end;
    const parts: Buffer[] = [];
    const retried: Pending[] = [];
    let end = 0;
    for (const index of refused) {
      const i = from + index;
      if (i >= to) continue;
      const pending = queue[i]!;
      const start = (i === 0 ? 0 : queue[i - 1]!.end) - base;
      parts.push(batch.subarray(start, pending.end - base));
      end += pending.end - base - start;
      retried.push({ ...pending, end });
      // Not where this node saw it: FORWARD reads where it is now.
      this.cache.forget(pending.to);
      link.refused.add(pending.to);
    }
    this.retry.push({ queue: retried, from: 0, to: retried.length, batch: Buffer.concat(parts, end) });
  }
}
