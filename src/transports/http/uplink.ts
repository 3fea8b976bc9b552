/** Outcome of one POST of frames, by its sequence number. */
export type PostOutcome = 'delivered' | 'duplicate' | 'held' | 'out-of-window' | 'busy';

/**
 * Bytes of held POST bodies, all sessions of one attachment together, and
 * their bound (`httpFallback.maxHeldBytes`).
 */
export interface HeldBudget {
  bytes: number;
  readonly max: number;
}

/**
 * Client→server POSTs of one session, handed on in `seq` order. A POST that
 * arrives ahead of a missing earlier one waits for it, kept as the bytes of
 * its body (parsed again when its turn comes: parsed, its frames would cost
 * about twice their bytes), within the session's bound and the attachment's.
 */
export class Uplink {
  /** The next POST `seq` to hand on. */
  expectedSeq = 1;
  private readonly held = new Map<number, Buffer>();
  private heldBytes = 0;

  constructor(
    private readonly budget: HeldBudget,
    /** Hands a body's frames to the hub. */
    private readonly deliver: (frames: readonly string[]) => void,
    /** The frames of a held body (it was checked when it arrived). */
    private readonly framesOf: (body: Buffer) => readonly string[],
  ) {}

  /**
   * Takes POST `seq` (its frames, and its body's bytes to hold it): handed
   * on now when it is the next one (with the held ones it unblocks), held
   * when earlier ones are missing, within `window` POSTs ahead and
   * `maxHeldBytes` for this session.
   */
  post(seq: number, frames: readonly string[], body: Buffer, window: number, maxHeldBytes: number): PostOutcome {
    if (seq < this.expectedSeq || this.held.has(seq)) return 'duplicate';
    if (seq > this.expectedSeq) {
      if (seq >= this.expectedSeq + window || this.heldBytes + body.length > maxHeldBytes) return 'out-of-window';
      if (this.budget.bytes + body.length > this.budget.max) return 'busy';
      // Its own memory: a small body may be a slice of a shared pool slab that would stay alive with it.
      const kept = Buffer.allocUnsafeSlow(body.length);
      body.copy(kept);
      this.held.set(seq, kept);
      this.heldBytes += body.length;
      this.budget.bytes += body.length;
      return 'held';
    }
    this.deliver(frames);
    this.expectedSeq++;
    for (let next = this.held.get(this.expectedSeq); next !== undefined; next = this.held.get(this.expectedSeq)) {
      this.held.delete(this.expectedSeq);
      this.heldBytes -= next.length;
      this.budget.bytes -= next.length;
      this.deliver(this.framesOf(next));
      this.expectedSeq++;
    }
    return 'delivered';
  }

  /** Bytes held for this session. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Lets go of every held body (the session closed: nothing more is handed on). */
  clear(): void {
    this.budget.bytes -= this.heldBytes;
    this.heldBytes = 0;
    this.held.clear();
  }
}
