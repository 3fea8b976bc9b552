/**
 * A client of the HTTP fallback made of plain `fetch` requests, for tests
 * that check the binding itself (PROTOCOL.md, "HTTP fallback"): every
 * request is explicit, nothing is retried or reordered behind the test's back.
 */

/** An event from the server: a frame (`event` `message`) or the close event. */
export interface HttpEvent {
  id: number | undefined;
  event: string;
  data: string;
}

/** The JSON of a frame event, or of a close event's data. */
export type Frame = Record<string, unknown> & { type?: string };

export interface Created {
  session: string;
  secret: string;
  heartbeat: number;
  timeout: number;
  pollTimeout: number;
  maxBodyBytes: number;
}

const SECRET = 'x-signalling-secret';

/** POSTs `?transport=http` to `base` (an http:// URL with the hub's path): the raw response. */
export function createRequest(base: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(withQuery(base, { transport: 'http' }), { method: 'POST', headers });
}

export function withQuery(base: string, params: Record<string, string | number>): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
  return url.href;
}

/** One session, driven request by request. */
export class RawHttpSession {
  /** Events received over polls and streams, in order. */
  readonly events: HttpEvent[] = [];
  /** The highest event id received. */
  lastId = 0;

  private constructor(
    readonly base: string,
    readonly info: Created,
  ) {}

  static async create(base: string, headers: Record<string, string> = {}): Promise<RawHttpSession> {
    const response = await createRequest(base, headers);
    if (response.status !== 201) throw new Error(`session refused: ${response.status} ${await response.text()}`);
    return new RawHttpSession(base, (await response.json()) as Created);
  }

  get id(): string {
    return this.info.session;
  }

  url(params: Record<string, string | number> = {}): string {
    return withQuery(this.base, { transport: 'http', session: this.id, ...params });
  }

  headers(secret = this.info.secret): Record<string, string> {
    return { [SECRET]: secret };
  }

  /** POSTs frames (objects are sent as their JSON) under `seq`. */
  post(frames: ReadonlyArray<string | object>, seq: number | undefined, options: { secret?: string; body?: string } = {}) {
    const body =
      options.body ?? JSON.stringify(frames.map((frame) => (typeof frame === 'string' ? frame : JSON.stringify(frame))));
    return fetch(this.url(seq === undefined ? {} : { seq }), { method: 'POST', headers: this.headers(options.secret), body });
  }

  /** One long-poll acknowledging `ack` (by default the last id received); its events are recorded. */
  async poll(ack = this.lastId, secret?: string): Promise<HttpEvent[]> {
    const response = await fetch(this.url({ poll: 1, ack }), { headers: this.headers(secret) });
    if (response.status !== 200) throw new Error(`poll answered ${response.status}: ${await response.text()}`);
    const entries = (await response.json()) as Array<{ id: number; event?: string; data: string }>;
    const events = entries.map((entry) => ({ id: entry.id, event: entry.event ?? 'message', data: entry.data }));
    this.record(events);
    return events;
  }

  /** Polls until a frame matching `match` arrives (at most `rounds` polls); returns it parsed. */
  async pollFor(match: (frame: Frame, event: HttpEvent) => boolean, rounds = 20): Promise<Frame> {
    for (let round = 0; round < rounds; round++) {
      const before = this.events.length;
      await this.poll();
      for (const event of this.events.slice(before)) {
        const frame = JSON.parse(event.data) as Frame;
        if (match(frame, event)) return frame;
      }
    }
    throw new Error(`no matching event in ${rounds} polls`);
  }

  /** Opens a Server-Sent Events stream. */
  async stream(options: { ack?: number; lastEventId?: number; secret?: string } = {}): Promise<SseStream> {
    const controller = new AbortController();
    const headers: Record<string, string> = { ...this.headers(options.secret), accept: 'text/event-stream' };
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
    const response = await fetch(this.url(options.ack === undefined ? {} : { ack: options.ack }), {
      headers,
      signal: controller.signal,
    });
    return new SseStream(response, controller, (events) => this.record(events));
  }

  delete(params: Record<string, string | number> = {}, secret?: string): Promise<Response> {
    return fetch(this.url(params), { method: 'DELETE', headers: this.headers(secret) });
  }

  private record(events: HttpEvent[]): void {
    for (const event of events) {
      this.events.push(event);
      if (event.id !== undefined && event.id > this.lastId) this.lastId = event.id;
    }
  }
}

/** A Server-Sent Events response read as it arrives, parsed simply (the server writes `\n` line ends). */
export class SseStream {
  readonly events: HttpEvent[] = [];
  /** Comment lines (heartbeats) received. */
  comments = 0;
  /** Resolves when the response ends (or fails). */
  readonly ended: Promise<void>;
  private buffer = '';
  private waiters: Array<() => void> = [];

  constructor(
    readonly response: Response,
    private readonly controller: AbortController,
    record: (events: HttpEvent[]) => void,
  ) {
    this.ended = (async () => {
      if (response.body === null) return;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          const parsed = this.feed(decoder.decode(value, { stream: true }));
          record(parsed.filter((event) => event.event !== 'open'));
          this.wake();
        }
      } catch {
        // Aborted.
      } finally {
        this.wake();
      }
    })();
  }

  get status(): number {
    return this.response.status;
  }

  /** Frames (message events), parsed. */
  get frames(): Frame[] {
    return this.events.filter((event) => event.event === 'message').map((event) => JSON.parse(event.data) as Frame);
  }

  /** Resolves with the first event matching `match`, waiting for it up to `timeoutMs`. */
  async next(match: (event: HttpEvent) => boolean, timeoutMs = 5000): Promise<HttpEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next frame matching `match`, parsed. */
  async frame(match: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const event = await this.next((e) => e.event === 'message' && match(JSON.parse(e.data) as Frame), timeoutMs);
    return JSON.parse(event.data) as Frame;
  }

  close(): Promise<void> {
    this.controller.abort();
    return this.ended;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private feed(text: string): HttpEvent[] {
    this.buffer += text;
    const parsed: HttpEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: number | undefined;
      let event = 'message';
      const data: string[] = [];
      let comment = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comment = true;
        else if (line.startsWith('id: ')) id = Number(line.slice(4));
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length === 0) {
        if (comment) this.comments++;
        continue;
      }
      const entry = { id, event, data: data.join('\n') };
      this.events.push(entry);
      parsed.push(entry);
    }
    return parsed;
  }
}
