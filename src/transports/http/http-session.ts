import type { ServerResponse } from 'node:http';
import type { Transport, TransportSession } from '../../core/transport.js';
import { type CloseInfo, EVENT_STREAM_TYPE, LOST_CODE, EVENT_CLOSE, EVENT_OPEN } from '../../protocol/http-wire.js';

/** One server→client event: a frame, or the final close event. */
interface OutEvent {
  /** 1, 2, 3… per session. */
  readonly id: number;
  /** The frame's text, or the close event's JSON (`{"code":…,"reason":…}`). */
  readonly data: string;
  readonly close: boolean;
  /** UTF-8 bytes of `data`. */
  readonly bytes: number;
}

/** What a session's current reader is: a Server-Sent Events stream, or a waiting long-poll. */
type Reader =
  | { readonly kind: 'stream'; readonly response: ServerResponse }
  | { readonly kind: 'poll'; readonly response: ServerResponse; readonly timer: ReturnType<typeof setTimeout> };

/** What the sessions of one attachment share. */
export interface HttpSessionContext {
  /** Milliseconds between comment heartbeats on streams, told to the client in the `open` event. */
  readonly heartbeatInterval: number;
  /** Milliseconds a long-poll waits before it is answered empty. */
  readonly pollTimeout: number;
  /**
   * Bytes of events sent and not acknowledged kept for a client that comes
   * back (a new stream, the next poll): past this the oldest are given up.
   */
  readonly retainBytes: number;
  /** The session is over: forget it. */
  forget(session: HttpSession): void;
}

/** Outcome of one POST of frames, by its sequence number. */
export type PostOutcome = 'delivered' | 'duplicate' | 'held' | 'out-of-window';

const decoder = new TextDecoder();
const LINE_BREAK = /\r\n|\r|\n/;
const CLOSE_EVENT_LINE = `event: ${EVENT_CLOSE}\n`;

/** One event in `text/event-stream` framing; a frame with line breaks (JSON whitespace) takes several `data:` lines. */
function sse(event: OutEvent): string {
  const head = event.close ? `id: ${event.id}\n${CLOSE_EVENT_LINE}` : `id: ${event.id}\n`;
  const data = event.data;
  if (!data.includes('\n') && !data.includes('\r')) return `${head}data: ${data}\n\n`;
  return `${head}data: ${data.split(LINE_BREAK).join('\ndata: ')}\n\n`;
}

/** One event as an entry of a long-poll's JSON array. */
function pollEntry(event: OutEvent): string {
  return event.close
    ? `{"id":${event.id},"event":"${EVENT_CLOSE}","data":${JSON.stringify(event.data)}}`
    : `{"id":${event.id},"data":${JSON.stringify(event.data)}}`;
}

export const STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': `${EVENT_STREAM_TYPE}; charset=utf-8`,
  // no-transform: compressing proxies would hold events back to fill their blocks.
  'cache-control': 'no-cache, no-store, no-transform',
  // nginx (and proxies that follow it) pass this response through unbuffered.
  'x-accel-buffering': 'no',
});

/**
 * One HTTP fallback session as a hub {@link Transport}: frames the hub sends
 * wait in a queue until a reader (a stream or a long-poll) takes them, and
 * are kept until the client acknowledges them (or too many bytes are kept),
 * so a client that reconnects its stream, or whose poll response was lost,
 * gets them again. Frames the client POSTs reach the hub in `seq` order.
 */
export class HttpSession implements Transport {
  /** The hub's side of this connection. */
  session!: TransportSession;
  /** When the client last made a request (a waiting poll counts as one in progress). */
  lastSeen = Date.now();
  /** Set once the session is closed: the close event is then the last event. */
  closeInfo: { readonly code: number; readonly reason: string } | undefined;
  /** The next POST `seq` to hand to the hub. */
  expectedSeq = 1;
  private readonly held = new Map<number, { readonly frames: readonly string[]; readonly bytes: number }>();
  private heldBytes = 0;
  private nextId = 1;
  private queue: OutEvent[] = [];
  private queuedBytes = 0;
  private retained: OutEvent[] = [];
  private retainedBytes = 0;
  /** The highest event id given up from the retained ones before the client acknowledged it. */
  private forgottenThrough = 0;
  /** The highest event id the client acknowledged. */
  private acked = 0;
  private reader: Reader | undefined;
  private flushScheduled = false;
  /** The close event went out in a stream or a poll response. */
  closeSent = false;

  constructor(
    readonly id: string,
    readonly secret: Buffer,
    private readonly context: HttpSessionContext,
  ) {}

  get open(): boolean {
    return this.closeInfo === undefined;
  }

  /** Whether a long-poll is waiting (the client is there). */
  get polling(): boolean {
    return this.reader?.kind === 'poll';
  }

  /** Whether a stream is open. */
  get streaming(): boolean {
    return this.reader?.kind === 'stream';
  }

  // --- Transport: what the hub calls ---

  send(message: string | Uint8Array): void {
    if (this.closeInfo !== undefined) return;
    const data = typeof message === 'string' ? message : decoder.decode(message);
    const bytes = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    this.queue.push({ id: this.nextId++, data, close: false, bytes });
    this.queuedBytes += bytes;
    if (this.reader !== undefined && !this.flushScheduled) {
      this.flushScheduled = true;
      // Every frame sent in this tick goes out in one write.
      process.nextTick(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** The hub closes the connection: the client gets a close event with `code` and `reason`. */
  close(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.finish(code, reason);
    // As a WebSocket's close event would, once the hub is done with its own close.
    queueMicrotask(() => this.session.closed(code));
  }

  /** Drops the session at once: no close event, the reader's connection is destroyed. */
  terminate(): void {
    this.lost();
  }

  /**
   * Bytes queued for the client that no reader has taken yet, and bytes a
   * stream has not handed to the kernel: what the hub's `maxBufferedBytes`
   * and `slowConsumerTimeout` apply to.
   */
  get bufferedAmount(): number {
    const reader = this.reader;
    return this.queuedBytes + (reader?.kind === 'stream' ? reader.response.writableLength : 0);
  }

  // --- What the adapter calls ---

  /** Closes from the adapter's side (1009 body too large, 1007 bad text, 1001 going away): client and hub are told. */
  closeByAdapter(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.finish(code, reason);
    this.session.closed(code);
  }

  /** The client went away without a goodbye (timeout, events lost): no close event; the hub sees 1006. */
  lost(): void {
    const wasOpen = this.closeInfo === undefined;
    this.closeInfo ??= { code: LOST_CODE, reason: '' };
    this.dropReader(true);
    this.context.forget(this);
    if (wasOpen) this.session.closed(LOST_CODE);
  }

  /** The client said goodbye (`DELETE`) with `code`: the hub sees it as a close frame's code. */
  goodbye(code: number): void {
    const wasOpen = this.closeInfo === undefined;
    this.closeInfo ??= { code, reason: '' };
    this.dropReader(false);
    this.context.forget(this);
    if (wasOpen) this.session.closed(code);
  }

  /** Ends the reader (a stream ends, a poll gets what is queued) without closing the session. */
  endReader(): void {
    this.flush();
    this.dropReader(false);
  }

  /** The client has every event up to `id`: they need not be kept. */
  ack(id: number): void {
    if (id <= this.acked) return;
    // Nobody can acknowledge an event that was never sent.
    this.acked = Math.min(id, this.nextId - 1);
    let count = 0;
    while (count < this.retained.length && this.retained[count]!.id <= this.acked) {
      this.retainedBytes -= this.retained[count]!.bytes;
      count++;
    }
    if (count > 0) this.retained.splice(0, count);
  }

  /**
   * A reader comes back after event `id`: false when events after it were
   * given up (the client would miss them), and the session must end as lost.
   */
  resumeFrom(id: number): boolean {
    this.ack(id);
    return id >= this.forgottenThrough;
  }

  /** Whether the client acknowledged the close event (nothing is left for it). */
  get closeAcked(): boolean {
    return this.closeInfo !== undefined && this.closeSent && this.retained.length === 0 && this.queue.length === 0;
  }

  /** Serves a Server-Sent Events stream: what the client has not acknowledged, then every new event. */
  attachStream(response: ServerResponse): void {
    this.dropReader(false);
    response.writeHead(200, STREAM_HEADERS);
    const heartbeat = this.context.heartbeatInterval;
    // `open` first: a client that does not get it soon knows the stream is held back on the way.
    let head = `retry: 1000\nevent: ${EVENT_OPEN}\ndata: {"heartbeat":${heartbeat}}\n\n`;
    for (const event of this.retained) head += sse(event);
    response.write(head);
    this.reader = { kind: 'stream', response };
    response.once('close', () => {
      if (this.reader?.response === response) this.reader = undefined;
    });
    if (this.queue.length > 0) this.flush();
    else if (this.retained.at(-1)?.close === true) this.dropReader(false);
  }

  /** Serves a long-poll: answered at once when events wait, else when one comes or after `pollTimeout`. */
  attachPoll(response: ServerResponse): void {
    this.dropReader(false);
    if (this.retained.length > 0 || this.queue.length > 0) {
      this.answerPoll(response);
      return;
    }
    const timer = setTimeout(() => {
      if (this.reader?.response !== response) return;
      this.reader = undefined;
      this.answerPoll(response);
    }, this.context.pollTimeout);
    timer.unref();
    this.reader = { kind: 'poll', response, timer };
    response.once('close', () => {
      if (this.reader?.response !== response) return;
      clearTimeout(timer);
      this.reader = undefined;
      this.lastSeen = Date.now();
    });
  }

  /** Writes a heartbeat comment on the stream, if one is open. */
  heartbeat(): void {
    const reader = this.reader;
    if (reader?.kind === 'stream' && reader.response.writable) reader.response.write(':\n\n');
  }

  /**
   * Takes POST `seq`'s frames: handed to the hub now when it is the next one
   * (with the held ones it unblocks), held when earlier ones are missing.
   */
  post(seq: number, frames: readonly string[], bytes: number, window: number, maxHeldBytes: number): PostOutcome {
    if (seq < this.expectedSeq || this.held.has(seq)) return 'duplicate';
    if (seq > this.expectedSeq) {
      if (seq >= this.expectedSeq + window || this.heldBytes + bytes > maxHeldBytes) return 'out-of-window';
      this.held.set(seq, { frames, bytes });
      this.heldBytes += bytes;
      return 'held';
    }
    this.deliver(frames);
    this.expectedSeq++;
    for (let next = this.held.get(this.expectedSeq); next !== undefined; next = this.held.get(this.expectedSeq)) {
      this.held.delete(this.expectedSeq);
      this.heldBytes -= next.bytes;
      this.deliver(next.frames);
      this.expectedSeq++;
    }
    return 'delivered';
  }

  private deliver(frames: readonly string[]): void {
    for (const frame of frames) {
      // A frame that closed the session (a rate-limit ban) ends the batch.
      if (this.closeInfo !== undefined) return;
      // As UTF-8 bytes: the hub counts them against maxMessageBytes and forwards well-formed relays without decoding.
      this.session.receive(Buffer.from(frame));
    }
  }

  // --- Inside ---

  private finish(code: number, reason: string): void {
    this.closeInfo = { code, reason };
    const data = JSON.stringify({ code, reason } satisfies CloseInfo);
    this.queue.push({ id: this.nextId++, data, close: true, bytes: Buffer.byteLength(data) });
    this.flush();
  }

  /** Hands what is queued to the reader, if there is one. */
  private flush(): void {
    const reader = this.reader;
    if (reader === undefined || this.queue.length === 0) return;
    const events = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const event of events) this.retain(event);
    const closing = events.at(-1)!.close;
    if (closing) this.closeSent = true;
    if (reader.kind === 'poll') {
      clearTimeout(reader.timer);
      this.reader = undefined;
      this.lastSeen = Date.now();
      this.writePoll(reader.response, events);
      return;
    }
    let text = '';
    for (const event of events) text += sse(event);
    reader.response.write(text);
    if (closing) this.dropReader(false);
  }

  private answerPoll(response: ServerResponse): void {
    const events = [...this.retained, ...this.queue];
    for (const event of this.queue) this.retain(event);
    this.queue = [];
    this.queuedBytes = 0;
    if (events.at(-1)?.close === true) this.closeSent = true;
    this.lastSeen = Date.now();
    this.writePoll(response, events);
  }

  private writePoll(response: ServerResponse, events: readonly OutEvent[]): void {
    if (response.writableEnded) return;
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(`[${events.map(pollEntry).join(',')}]`);
  }

  /** Keeps a sent event until the client acknowledges it, within `retainBytes`. */
  private retain(event: OutEvent): void {
    this.retained.push(event);
    this.retainedBytes += event.bytes;
    let count = 0;
    while (this.retainedBytes > this.context.retainBytes && this.retained.length - count > 1) {
      const gone = this.retained[count++]!;
      this.retainedBytes -= gone.bytes;
      this.forgottenThrough = gone.id;
    }
    if (count > 0) this.retained.splice(0, count);
  }

  private dropReader(destroy: boolean): void {
    const reader = this.reader;
    if (reader === undefined) return;
    this.reader = undefined;
    if (reader.kind === 'poll') {
      clearTimeout(reader.timer);
      this.lastSeen = Date.now();
      if (destroy) reader.response.destroy();
      else this.writePoll(reader.response, []);
      return;
    }
    if (destroy) reader.response.destroy();
    else reader.response.end();
  }
}
