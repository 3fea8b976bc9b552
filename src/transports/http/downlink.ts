import type { ServerResponse } from 'node:http';
import { EVENT_CLOSE, EVENT_OPEN, EVENT_STREAM_TYPE } from '../../protocol/http-wire.js';

const CLOSE_EVENT_LINE = `event: ${EVENT_CLOSE}\n`;

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

/** What the downlinks of one attachment share. */
export interface DownlinkContext {
  /** Milliseconds between comment heartbeats on streams, told to the client in the `open` event. */
  readonly heartbeatInterval: number;
  /** Milliseconds a long-poll waits before it is answered empty. */
  readonly pollTimeout: number;
  /**
   * Bytes of events sent and not acknowledged kept for a client that comes
   * back (a new stream, the next poll): past this the oldest are given up.
   */
  readonly retainBytes: number;
}

/** What a downlink tells its session. */
export interface DownlinkOwner {
  /** A long-poll ended: the client was there until now. */
  touched(): void;
  /** The close event went out to a reader. */
  closeSent(): void;
}

/** One event in `text/event-stream` framing; a frame with line breaks (JSON whitespace) takes several `data:` lines. */
function sse(event: OutEvent): string {
  const head = event.close ? `id: ${event.id}\n${CLOSE_EVENT_LINE}` : `id: ${event.id}\n`;
  const data = event.data;
  if (!data.includes('\n') && !data.includes('\r')) return `${head}data: ${data}\n\n`;
  return `${head}data: ${data.split(LINE_BREAK).join('\ndata: ')}\n\n`;
}

const LINE_BREAK = /\r\n|\r|\n/;

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
 * Server→client events of one session: they wait in a queue until a reader
 * (a Server-Sent Events stream or a long-poll) takes them, and are kept until
 * the client acknowledges them (or too many bytes are kept), so a client that
 * reconnects its stream, or whose poll response was lost, gets them again.
 */
export class Downlink {
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
    private readonly context: DownlinkContext,
    private readonly owner: DownlinkOwner,
  ) {}

  /** Whether a long-poll is waiting (the client is there). */
  get polling(): boolean {
    return this.reader?.kind === 'poll';
  }

  /** Whether a stream is open. */
  get streaming(): boolean {
    return this.reader?.kind === 'stream';
  }

  /** Bytes no reader has taken yet, and bytes a stream has not handed to the kernel. */
  get bufferedAmount(): number {
    const reader = this.reader;
    return this.queuedBytes + (reader?.kind === 'stream' ? reader.response.writableLength : 0);
  }

  /** Whether the client acknowledged every event (the close event included, once sent). */
  get drained(): boolean {
    return this.retained.length === 0 && this.queue.length === 0;
  }

  /** Queues a frame; every frame sent in this tick goes out in one write. */
  send(data: string, bytes: number): void {
    this.queue.push({ id: this.nextId++, data, close: false, bytes });
    this.queuedBytes += bytes;
    if (this.reader !== undefined && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Queues the close event (the last one) and hands it to the reader, if any. */
  sendClose(code: number, reason: string): void {
    const data = JSON.stringify({ code, reason });
    this.queue.push({ id: this.nextId++, data, close: true, bytes: Buffer.byteLength(data) });
    this.flush();
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

  /** A reader comes back after event `id`: false when events after it were given up (the client would miss them). */
  resumeFrom(id: number): boolean {
    this.ack(id);
    return id >= this.forgottenThrough;
  }

  /** Serves a Server-Sent Events stream: what the client has not acknowledged, then every new event. */
  attachStream(response: ServerResponse): void {
    this.dropReader(false);
    response.writeHead(200, STREAM_HEADERS);
    // `open` first: a client that does not get it soon knows the stream is held back on the way.
    let head = `retry: 1000\nevent: ${EVENT_OPEN}\ndata: {"heartbeat":${this.context.heartbeatInterval}}\n\n`;
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
      this.owner.touched();
    });
  }

  /** Writes a heartbeat comment on the stream, if one is open. */
  heartbeat(): void {
    const reader = this.reader;
    if (reader?.kind === 'stream' && reader.response.writable) reader.response.write(':\n\n');
  }

  /** Ends the reader (a stream ends, a poll gets what is queued). */
  endReader(): void {
    this.flush();
    this.dropReader(false);
  }

  /** Drops the reader: its connection destroyed (`destroy`), or a stream ended and a poll answered empty. */
  dropReader(destroy: boolean): void {
    const reader = this.reader;
    if (reader === undefined) return;
    this.reader = undefined;
    if (reader.kind === 'poll') {
      clearTimeout(reader.timer);
      this.owner.touched();
      if (destroy) reader.response.destroy();
      else writePoll(reader.response, []);
      return;
    }
    if (destroy) reader.response.destroy();
    else reader.response.end();
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
    if (closing) this.markCloseSent();
    if (reader.kind === 'poll') {
      clearTimeout(reader.timer);
      this.reader = undefined;
      this.owner.touched();
      writePoll(reader.response, events);
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
    if (events.at(-1)?.close === true) this.markCloseSent();
    this.owner.touched();
    writePoll(response, events);
  }

  private markCloseSent(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.owner.closeSent();
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
}

function writePoll(response: ServerResponse, events: readonly OutEvent[]): void {
  if (response.writableEnded) return;
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(`[${events.map(pollEntry).join(',')}]`);
}
