import {
  HttpParam,
  STATUS_BAD_REQUEST,
  STATUS_CLOSED,
  STATUS_DELIVERED,
  STATUS_HELD,
  STATUS_SESSION_GONE,
  STATUS_TOO_LARGE,
} from '../../protocol/http-wire.js';
import { isSessionGone, type SessionLink } from './link.js';

/**
 * Client to server: frames go in POSTs, one at a time, each numbered
 * (`seq`), so that the hub gets them in order and once even when a POST is
 * retried after a failure. Frames sent in the same task share one POST.
 */
export class Uplink {
  private seq = 0;
  private outgoing: string[] = [];
  private outgoingBytes = 0;
  private inFlightBytes = 0;
  private pumping = false;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly link: SessionLink) {}

  /** UTF-16 units of the frames sent and not yet acknowledged by the server. */
  get bufferedAmount(): number {
    return this.outgoingBytes + this.inFlightBytes;
  }

  /** Whether a POST of frames is under way. */
  get busy(): boolean {
    return this.pumping;
  }

  send(text: string): void {
    this.outgoing.push(text);
    this.outgoingBytes += text.length;
    if (!this.pumping) {
      this.pumping = true;
      // Frames sent in the same task go in one POST.
      queueMicrotask(() => void this.pump());
    }
  }

  /** Resolves once nothing is queued or in flight, or after `ms`. */
  drained(ms: number): Promise<void> {
    if (!this.pumping && this.outgoing.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Forgets what is queued (the socket is closed) and lets whoever waits for the drain go on. */
  clear(): void {
    this.outgoing = [];
    this.outgoingBytes = 0;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Tells the server the client is there (a stream alone says nothing upward), unless a request did lately. */
  ping(every: number): void {
    if (this.pumping || Date.now() - this.link.lastRequestAt < every) return;
    this.link
      .request('POST', { [HttpParam.session]: this.link.info!.session, [HttpParam.ack]: String(this.link.lastEventId) }, {})
      .then((response) => {
        if (response.status === STATUS_DELIVERED) this.link.contact();
        else if (response.status === STATUS_SESSION_GONE || response.status === STATUS_CLOSED) void this.link.refused(response);
      })
      .catch(() => {
        // The downlink notices an unreachable server.
      });
  }

  /** Sends what is queued, one POST at a time (each numbered), until nothing is left. */
  private async pump(): Promise<void> {
    try {
      while (this.outgoing.length > 0 && this.link.usable) {
        const batch = this.takeBatch();
        const outcome = await this.post(batch);
        this.inFlightBytes = 0;
        if (outcome === 'stop') return;
      }
    } finally {
      this.pumping = false;
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  /** The next frames that fit in one body (at least one: a frame too large for any is the server's to refuse). */
  private takeBatch(): string[] {
    const limit = this.link.info!.maxBodyBytes;
    let size = 2;
    let count = 0;
    while (count < this.outgoing.length) {
      // JSON escaping can grow a frame; counted generously (UTF-8 bytes ≤ 3 per UTF-16 unit).
      const cost = this.outgoing[count]!.length * 3 + 3;
      if (count > 0 && size + cost > limit) break;
      size += cost;
      count++;
    }
    const batch = this.outgoing.splice(0, count);
    let units = 0;
    for (const frame of batch) units += frame.length;
    this.outgoingBytes -= units;
    this.inFlightBytes = units;
    return batch;
  }

  /** POSTs one batch under the next `seq`, again with the same `seq` after a failure (the server keeps it once). */
  private async post(batch: string[]): Promise<'ok' | 'stop'> {
    const link = this.link;
    const seq = String(++this.seq);
    const body = JSON.stringify(batch);
    for (let attempt = 1; ; attempt++) {
      if (!link.usable) return 'stop';
      let response;
      try {
        response = await link.request(
          'POST',
          { [HttpParam.session]: link.info!.session, [HttpParam.seq]: seq, [HttpParam.ack]: String(link.lastEventId) },
          { body },
        );
      } catch {
        response = undefined;
      }
      if (response !== undefined) {
        const status = response.status;
        if (status === STATUS_DELIVERED || status === STATUS_HELD) {
          link.contact();
          return 'ok';
        }
        // 400 (a frame that is not text) or 413 (too large): the server closes the session; its close event follows.
        if (status === STATUS_BAD_REQUEST || status === STATUS_TOO_LARGE) return 'stop';
        if (status === STATUS_CLOSED || isSessionGone(status)) {
          await link.refused(response);
          return 'stop';
        }
        link.contact();
        await response.text().catch(() => '');
      }
      if (link.unreachable() || attempt >= 20) {
        link.owner.fail('the server cannot be reached');
        return 'stop';
      }
      await link.sleep(Math.min(100 * 2 ** Math.min(attempt, 6), 5000));
    }
  }
}
