import type { ResolvedPeerjsOptions } from './options.js';

/** A message to an id that is not connected, ready to send. */
export interface QueuedMessage {
  /** The sender's id. */
  readonly src: string;
  /** The PeerJS frame the target will get, and its object (what `hub.send` takes). */
  readonly frame: string;
  readonly message: object;
  /** When it was queued (ms). */
  readonly at: number;
}

interface TargetQueue {
  readonly items: QueuedMessage[];
  bytes: number;
  /** A delivery pass is running: it alone takes items off the front, in order. */
  sending: boolean;
}

/** What the queue needs from the dialect. */
export interface OfflineQueueHost {
  /** Sends a queued message to `dst` if it can be reached now (on this node or another). */
  deliver(dst: string, item: QueuedMessage): boolean | Promise<boolean>;
  /** Tells `src` its messages to `dst` were dropped (one `EXPIRE`). */
  expire(src: string, dst: string): void;
  reportError(error: unknown): void;
}

/**
 * Messages to ids that are not connected (yet), per target id, in order:
 * sent when the target connects on this node, tried again every
 * `cleanup_out_msgs` (the target may have connected on another node), and
 * dropped with one `EXPIRE` per (sender, target) after `expire_timeout`.
 * Bounded per target and in all; a message past a bound is refused at once.
 * Senders' order holds: while a target has a queue, new messages to it join it.
 */
export class OfflineQueue {
  private readonly queues = new Map<string, TargetQueue>();
  private bytes = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly options: ResolvedPeerjsOptions,
    private readonly host: OfflineQueueHost,
  ) {}

  /** Whether messages to `dst` are waiting (new ones must queue behind them). */
  has(dst: string): boolean {
    return this.queues.has(dst);
  }

  /** Queued bytes on this node. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Queues a message; `false` when a bound refuses it. */
  push(dst: string, item: QueuedMessage): boolean {
    const size = item.frame.length;
    const { maxQueuedPerPeer, maxQueuedBytesPerPeer, maxQueuedBytes } = this.options;
    let queue = this.queues.get(dst);
    if (this.bytes + size > maxQueuedBytes) return false;
    if (queue !== undefined && (queue.items.length >= maxQueuedPerPeer || queue.bytes + size > maxQueuedBytesPerPeer))
      return false;
    if (queue === undefined) {
      if (maxQueuedPerPeer === 0 || size > maxQueuedBytesPerPeer) return false;
      queue = { items: [], bytes: 0, sending: false };
      this.queues.set(dst, queue);
    }
    queue.items.push(item);
    queue.bytes += size;
    this.bytes += size;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.options.cleanup_out_msgs);
      // Queued messages only wait to expire: they do not keep a process alive.
      this.timer.unref?.();
    }
    return true;
  }

  /** `dst` connected here, or may be reachable elsewhere: sends its queue in order while deliveries succeed. */
  flush(dst: string): void {
    const queue = this.queues.get(dst);
    if (queue === undefined || queue.sending) return;
    queue.sending = true;
    this.send(dst, queue).catch((error: unknown) => this.host.reportError(error));
  }

  private async send(dst: string, queue: TargetQueue): Promise<void> {
    try {
      while (queue.items.length > 0) {
        const item = queue.items[0]!;
        const sent = this.host.deliver(dst, item);
        if (!(typeof sent === 'boolean' ? sent : await sent)) return;
        this.take(queue, 1);
      }
    } finally {
      queue.sending = false;
      if (queue.items.length === 0) this.forget(dst, queue);
    }
  }

  /** One pass: expired messages are dropped with their `EXPIRE`s, the others tried again. */
  tick(now = Date.now()): void {
    const cutoff = now - this.options.expire_timeout;
    for (const [dst, queue] of this.queues) {
      if (queue.sending) continue;
      let expired = 0;
      while (expired < queue.items.length && queue.items[expired]!.at <= cutoff) expired++;
      if (expired > 0) {
        const senders = new Set<string>();
        for (let i = 0; i < expired; i++) senders.add(queue.items[i]!.src);
        this.take(queue, expired);
        for (const src of senders) this.host.expire(src, dst);
      }
      if (queue.items.length === 0) this.forget(dst, queue);
      else this.flush(dst);
    }
  }

  private take(queue: TargetQueue, count: number): void {
    for (const item of queue.items.splice(0, count)) {
      queue.bytes -= item.frame.length;
      this.bytes -= item.frame.length;
    }
  }

  private forget(dst: string, queue: TargetQueue): void {
    if (this.queues.get(dst) !== queue) return;
    this.queues.delete(dst);
    if (this.queues.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Drops everything without `EXPIRE`s (the dialect is closing). */
  clear(): void {
    this.queues.clear();
    this.bytes = 0;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
