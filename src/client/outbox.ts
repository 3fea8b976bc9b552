import { TokenBucket } from '../common/token-bucket.js';
import type { RelayRequest } from '../protocol/messages.js';
import { utf8Length } from '../protocol/utf8.js';
import type { SendRateOptions } from './options.js';
import type { DroppedEvent } from './types.js';

/**
 * How long after the client has sent the last relay it held a 4429 from the
 * hub is still blamed on that replay (and the client reconnects), in ms.
 */
const REPLAY_GRACE_MS = 2000;

/** A relay waiting in the outbox. */
interface Held {
  readonly frame: string;
  /** UTF-8 bytes of `frame`. */
  readonly bytes: number;
  readonly type: OutgoingRequest['type'];
  readonly to: string;
}

/** A relay, or a broadcast to a room (held and paced alike). */
export type OutgoingRequest = RelayRequest | { type: 'broadcast'; room: string; data: unknown };

/** What the outbox needs from its client. */
export interface OutboxHost {
  /** Whether a relay can go out now (logged in, socket open). */
  canSend(): boolean;
  send(frame: string): void;
  dropped(event: DroppedEvent): void;
  /** The relays held over a reconnection are all sent (or dropped): the session is back. */
  replayed(): void;
}

/**
 * The client's relays on their way out: sent at once while logged in and
 * within the pace (`sendRate`, a token bucket), else held in order (while
 * reconnecting, or waiting for the pace) within `maxOutboxMessages` and
 * `maxOutboxBytes`, held candidates dropped first. It also remembers the
 * replay (the relays held over a reconnection) so that a 4429 it caused can
 * be told from the app flooding.
 */
export class Outbox {
  private held: Held[] = [];
  private heldBytes = 0;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  /** The current pace (`undefined`: none): `sendRate`, halved after each 4429 caused by a replay. */
  private pace: TokenBucket | undefined;
  /** The last relay held over a reconnection, while they are being sent (the replay). */
  private replayLast: Held | undefined;
  /** Until when (a `Date.now()`) a 4429 is still blamed on the last replay. */
  private replayGraceEnd = 0;

  constructor(
    private readonly host: OutboxHost,
    private readonly sendRate: Readonly<SendRateOptions> | false,
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {
    this.pace = paceOf(sendRate, undefined);
  }

  /** Sends `message` now, or holds it. */
  relay(message: OutgoingRequest): void {
    const frame = JSON.stringify(message);
    if (this.held.length === 0 && this.host.canSend() && this.take() === 0) {
      this.host.send(frame);
      return;
    }
    const to = message.type === 'broadcast' ? message.room : message.name;
    this.hold({ frame, bytes: utf8Length(frame), type: message.type, to });
    this.drain();
  }

  /** Sends held relays while the connection and the pace allow, then waits for the next token. */
  drain(): void {
    this.stopDraining();
    while (this.held.length > 0 && this.host.canSend()) {
      const wait = this.take();
      if (wait > 0) {
        this.drainTimer = setTimeout(() => this.drain(), wait);
        return;
      }
      const held = this.held.shift()!;
      this.heldBytes -= held.bytes;
      this.host.send(held.frame);
      if (held === this.replayLast) this.replayed();
    }
  }

  /** Stops sending until the next {@link drain} (the connection is gone). */
  stopDraining(): void {
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
  }

  /**
   * A login succeeded: what is held now is the replay. Returns whether there
   * is none (the session is back at once).
   */
  startReplay(): boolean {
    this.replayLast = this.held[this.held.length - 1];
    return this.replayLast === undefined;
  }

  /**
   * The connection closed with `code`: whether it was a 4429 caused by the
   * replay (while or just after it was sent) rather than the app flooding.
   * The replay is over either way.
   */
  replayFlooded(code: number, tooManyMessages: number): boolean {
    const flooded = code === tooManyMessages && (this.replayLast !== undefined || Date.now() < this.replayGraceEnd);
    this.replayLast = undefined;
    this.replayGraceEnd = 0;
    return flooded;
  }

  /** Halves the pace (at least one relay a second, bursts of one). */
  slowDown(): void {
    const pace = this.pace;
    if (pace === undefined) return;
    const rate = { messagesPerSecond: Math.max(1, pace.perSecond / 2), burst: Math.max(1, Math.floor(pace.burst / 2)) };
    this.pace = paceOf(rate, pace);
  }

  /** Drops everything held (the session is over); `resetPace`: back to `sendRate`. */
  clear(resetPace = false): void {
    this.stopDraining();
    this.held = [];
    this.heldBytes = 0;
    this.replayLast = undefined;
    if (resetPace) this.pace = paceOf(this.sendRate, this.pace);
  }

  /** Puts a relay in the outbox, making room: held candidates go first, then the oldest relays. */
  private hold(held: Held): void {
    // One relay larger than the whole outbox goes alone, without emptying the outbox first.
    if (held.bytes > this.maxBytes) {
      this.host.dropped({ type: held.type, to: held.to });
      return;
    }
    this.held.push(held);
    this.heldBytes += held.bytes;
    while (this.held.length > this.maxMessages || this.heldBytes > this.maxBytes) {
      const candidate = this.held.findIndex((entry) => entry.type === 'candidate');
      const index = candidate === -1 ? 0 : candidate;
      const [gone] = this.held.splice(index, 1);
      this.heldBytes -= gone!.bytes;
      if (gone === this.replayLast) {
        this.replayLast = this.held[index - 1];
        if (this.replayLast === undefined) this.replayed();
      }
      this.host.dropped({ type: gone!.type, to: gone!.to });
    }
  }

  private replayed(): void {
    this.replayLast = undefined;
    this.replayGraceEnd = Date.now() + REPLAY_GRACE_MS;
    this.host.replayed();
  }

  /** Takes a token of the pace: 0 when there was one, else the milliseconds until there is. */
  private take(): number {
    return this.pace === undefined ? 0 : this.pace.take(Date.now());
  }
}

/** A bucket for `rate` (`undefined`: no pace) that keeps the tokens `previous` had left, up to its burst. */
function paceOf(rate: Readonly<SendRateOptions> | false, previous: TokenBucket | undefined): TokenBucket | undefined {
  if (rate === false) return undefined;
  const now = Date.now();
  const pace = new TokenBucket(rate.messagesPerSecond, rate.burst, now);
  if (previous !== undefined) {
    previous.refill(now);
    pace.tokens = Math.min(previous.tokens, rate.burst);
  }
  return pace;
}
