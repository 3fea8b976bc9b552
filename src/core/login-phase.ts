import type { UpgradeRequest } from './transport.js';

const utf8 = new TextEncoder();

/**
 * A connection while it is being established (Hocuspocus keeps this apart
 * from the established connection too): the upgrade request `authenticate`
 * may read, the login timer, and the messages that arrive while a login is
 * decided, held in order and bounded. Made when the connection opens and
 * dropped once a login is decided and nothing held is left, so an idle
 * logged-in peer keeps none of it.
 */
export class LoginPhase {
  /** Messages that arrived while a login was being decided: compact copies. */
  private held: Uint8Array[] | undefined = undefined;
  private heldBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /** `request`: held only until login, for the host's `authenticate`. */
  constructor(public request: UpgradeRequest | undefined) {}

  /** Starts the login timeout: `expire` runs unless {@link clearTimer} comes first. */
  armTimer(ms: number, expire: () => void): void {
    this.timer = setTimeout(expire, ms);
  }

  clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Keeps a message until the login is decided; false (nothing kept) when
   * the bounds are reached. Copied compactly: the adapter may reuse its
   * buffer once receive() returns, and a slice would keep a whole read buffer
   * alive (a string could be a slice of a larger one too).
   */
  hold(message: string | Uint8Array, maxMessages: number, maxBytes: number): boolean {
    const copy = typeof message === 'string' ? utf8.encode(message) : new Uint8Array(message);
    const held = (this.held ??= []);
    if (held.length >= maxMessages || this.heldBytes + copy.length > maxBytes) return false;
    held.push(copy);
    this.heldBytes += copy.length;
    return true;
  }

  /** The oldest held message, taken out; `undefined` when none is left. */
  next(): Uint8Array | undefined {
    const message = this.held?.shift();
    if (message !== undefined) this.heldBytes -= message.length;
    return message;
  }

  /** Whether nothing is held. */
  get empty(): boolean {
    return this.held === undefined || this.held.length === 0;
  }
}
