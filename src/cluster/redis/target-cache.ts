import type { ForwardDone, ForwardResult } from '../../core/backplane.js';

export const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };
export const NOT_FOUND: ForwardResult = { delivered: false, reason: 'not-found' };

/**
 * A target the batcher has forwarded to lately. `mark` is its index in the
 * batch being written, tagged with that batch's number (`tag + index`, 256
 * numbers per batch), so the map is not emptied and refilled per batch.
 * `node` held it under `epoch` when Redis last said (`''`: unknown).
 */
interface Known {
  mark: number;
  node: string;
  epoch: string;
}

/** The targets of `queue[from, to)` as a call carries them. */
export interface BatchTargets {
  /** The distinct targets, in the order first named. */
  readonly targets: readonly Known[];
  /** Their names, tab-separated. */
  readonly names: string;
  /** Per envelope, its target's index into `targets` (one byte: a batch holds at most 256 envelopes). */
  readonly index: Buffer;
  /** The node every target was last seen on under that node's current epoch, or `''`. */
  readonly seen: string;
}

/**
 * Where the targets a node forwards to were last seen (the fenced cache behind GATE and node
 * links): for each target lately forwarded to (up to 4,096), the node Redis last said held it and
 * that node's epoch then; and the latest epoch Redis gave for each node.
 */
export class TargetCache {
  private readonly known = new Map<string, Known>();
  private tag = 0;
  private readonly epochs = new Map<string, string>();
  /** The last `delivered` answer, reused while batches go to the same node. */
  private delivered: ForwardResult & { delivered: true } = { delivered: true, node: '' };

  /**
   * The targets of `queue[from, to)`, each once (a burst of candidates names the same peer again
   * and again).
   */
  plan(queue: ReadonlyArray<{ readonly to: string }>, from: number, to: number): BatchTargets {
    const known = this.known;
    // Emptied now and then: past many names, or before the tags would pass the safe integers.
    if (known.size > 4096 || this.tag > Number.MAX_SAFE_INTEGER / 2) {
      known.clear();
      this.tag = 0;
    }
    const tag = (this.tag += 256);
    const index = Buffer.allocUnsafe(to - from);
    const targets: Known[] = [];
    let names = '';
    // '' once one target was not seen where the others were.
    let seen: string | undefined;
    for (let i = from; i < to; i++) {
      const target = queue[i]!.to;
      let entry = known.get(target);
      if (entry === undefined) known.set(target, (entry = { mark: 0, node: '', epoch: '' }));
      let slot = entry.mark - tag;
      if (slot < 0) {
        slot = targets.length;
        entry.mark = tag + slot;
        targets.push(entry);
        names = slot === 0 ? target : names + '\t' + target;
        if (seen !== '') {
          const node = entry.node;
          seen = node !== '' && entry.epoch === this.epochs.get(node) && (seen === undefined || seen === node) ? node : '';
        }
      }
      index[i - from] = slot;
    }
    return { targets, names, index, seen: seen ?? '' };
  }

  /** The latest epoch Redis gave for `node`. */
  epochOf(node: string): string | undefined {
    return this.epochs.get(node);
  }

  /** `target` is no longer where it was seen: the next batch to it reads where it is. */
  forget(target: string): void {
    const entry = this.known.get(target);
    if (entry !== undefined) entry.node = entry.epoch = '';
  }

  /** FORWARD's reply (or GATE's when it routed the batch) for `queue[from, to)`, planned as `plan`. */
  answer(
    reply: unknown,
    queue: ReadonlyArray<{ readonly done: ForwardDone }>,
    from: number,
    to: number,
    plan: BatchTargets,
  ): void {
    if (reply === -2) {
      // Redis ran it after this node gave up on it: nothing was published.
      for (let i = from; i < to; i++) queue[i]!.done(UNAVAILABLE);
      return;
    }
    const { targets, index } = plan;
    const distinct = targets.length;
    const [first, second, third] = reply as [string | string[], number | Array<string | number>, string | undefined];
    if (typeof first === 'string') {
      // One answer for the whole batch: its one holder (or none).
      // Nobody listened: the holder's subscription is reconnecting and its envelopes are lost.
      const result = first === '' ? NOT_FOUND : (second as number) > 0 ? this.deliveredTo(first) : UNAVAILABLE;
      for (let i = from; i < to; i++) queue[i]!.done(result);
      this.learn(targets, first, third);
      return;
    }
    const published = second as Array<string | number>;
    const outcome = new Map<string, ForwardResult>();
    for (let i = 0; i < published.length; i += 3) {
      const node = published[i] as string;
      outcome.set(node, (published[i + 1] as number) > 0 ? { delivered: true, node } : UNAVAILABLE);
      this.noteEpoch(node, published[i + 2] as string);
    }
    for (let i = from; i < to; i++) {
      const holder = first[distinct < to - from ? index[i - from]! : i - from];
      queue[i]!.done(holder ? (outcome.get(holder) ?? UNAVAILABLE) : NOT_FOUND);
    }
    for (let i = 0; i < distinct; i++) {
      const holder = first[i]!;
      targets[i]!.node = holder;
      targets[i]!.epoch = holder === '' ? '' : (this.epochs.get(holder) ?? '');
    }
  }

  /** The answer for an envelope delivered to `node` (one object while it stays the same node). */
  deliveredTo(node: string): ForwardResult {
    if (this.delivered.node !== node) this.delivered = { delivered: true, node };
    return this.delivered;
  }

  /** Redis said one node (or none, `''`) held every target of a batch, under `epoch`. */
  private learn(targets: readonly Known[], node: string, epoch: string | undefined): void {
    if (node !== '' && epoch !== undefined) this.noteEpoch(node, epoch);
    else node = '';
    for (const target of targets) {
      target.node = node;
      target.epoch = node === '' ? '' : epoch!;
    }
  }

  private noteEpoch(node: string, epoch: string): void {
    // Nodes come and go (a restarted process has a new id): the map stays small.
    if (this.epochs.size >= 256 && !this.epochs.has(node)) this.epochs.clear();
    this.epochs.set(node, epoch);
  }
}
