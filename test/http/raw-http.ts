/**
 * A client of the HTTP fallback made of plain `fetch` requests, for tests
 * that check the binding itself (PROTOCOL.md, "HTTP fallback"): every
 * request is explicit, nothing is retried or reordered behind the test's back.
 */

import { type Frame as InboxFrame, Inbox } from '../helpers/inbox.js';

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

/**
 * A client of the HTTP fallback with the API of the matrix's clients
 * (test/matrix/factory.ts, `MatrixClient`): frames go up in POSTs (everything
 * sent in one tick in one POST, one POST in flight, each under the session's
 * `maxBodyBytes`, `seq` 1, 2, 3…, retried with the same `seq` when a request
 * fails), and come down over long-polls, one after the other, each
 * acknowledging the last event id received.
 */
export class HttpClient {
  private readonly box = new Inbox();
  /** Frames received and not taken by `next()` yet. */
  readonly inbox: InboxFrame[] = this.box.frames;
  readonly closed: Promise<{ code: number; reason: string }>;
  private resolveClosed!: (info: { code: number; reason: string }) => void;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private reading = true;
  private readonly outgoing: string[] = [];
  private pump: Promise<void> | undefined;
  private seq = 0;
  /** Aborts every request in flight (abort(), or the session is over). */
  private readonly controller = new AbortController();
  private pinger: ReturnType<typeof setInterval> | undefined;

  private constructor(readonly session: RawHttpSession) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    void this.pollLoop();
  }

  /** Creates a session at `base` (the create request carries `headers`, as an upgrade request would). */
  static async connect(base: string, headers: Record<string, string> = {}): Promise<HttpClient> {
    return new HttpClient(await RawHttpSession.create(base, headers));
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  send(message: object | string): void {
    if (this.state !== 'open') return;
    this.outgoing.push(typeof message === 'string' ? message : JSON.stringify(message));
    this.pump ??= Promise.resolve().then(() => this.post());
  }

  /** There are no binary frames over the HTTP fallback: a POST body is a JSON array of strings. */
  sendBinary(): void {
    throw new Error('The HTTP fallback has no binary frames: a POST body is a JSON array of strings');
  }

  next(match: (frame: InboxFrame) => boolean = () => true, timeoutMs = 5000): Promise<InboxFrame> {
    return this.box.next(match, timeoutMs);
  }

  nextOf(type: string, timeoutMs?: number): Promise<InboxFrame> {
    return this.next((frame) => frame.type === type, timeoutMs);
  }

  async login(name: string, extra: object = {}): Promise<InboxFrame> {
    this.send({ type: 'login', name, ...extra });
    return this.nextOf('login');
  }

  async request(message: object | string, timeoutMs?: number): Promise<InboxFrame> {
    this.send(message);
    return this.next(undefined, timeoutMs);
  }

  /** A goodbye once what was sent is posted: `DELETE` with `code` (none: the hub hears 1005, as for a close frame without one). */
  close(code?: number): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    void (async () => {
      await this.pump;
      try {
        await fetch(this.session.url(code === undefined ? {} : { code }), {
          method: 'DELETE',
          headers: this.session.headers(),
        });
      } catch {
        // The server is gone: the session ends with it.
      }
      this.finish(code ?? 1005, '');
    })();
  }

  /** Stops making requests at once (those in flight are aborted): the server loses the session after its `sessionTimeout` (1006). */
  abort(): void {
    this.finish(1006, '');
  }

  /** Stops polling; the client still pings (an empty POST), so the session lives while its queue grows on the server. */
  pauseReading(): void {
    this.reading = false;
    if (this.pinger !== undefined || this.state !== 'open') return;
    this.pinger = setInterval(
      () => {
        fetch(this.session.url(), { method: 'POST', headers: this.session.headers(), signal: this.controller.signal }).then(
          (response) => response.body?.cancel(),
          () => {},
        );
      },
      Math.max(50, Math.floor(this.session.info.timeout / 3)),
    );
  }

  /** The session is over for this client (read through a getter: `finish()` may run during any await). */
  private get done(): boolean {
    return this.state === 'closed';
  }

  private finish(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.outgoing.length = 0;
    if (this.pinger !== undefined) clearInterval(this.pinger);
    this.controller.abort();
    this.resolveClosed({ code, reason });
  }

  /** Posts what is queued, batch by batch, until nothing is left. */
  private async post(): Promise<void> {
    const limit = this.session.info.maxBodyBytes;
    while (this.outgoing.length > 0 && this.state !== 'closed') {
      // At least one frame; more while the body stays under maxBodyBytes.
      let bytes = 2;
      let count = 0;
      while (count < this.outgoing.length) {
        const size = Buffer.byteLength(JSON.stringify(this.outgoing[count])) + 1;
        if (count > 0 && bytes + size > limit) break;
        bytes += size;
        count++;
      }
      const body = JSON.stringify(this.outgoing.splice(0, count));
      const seq = ++this.seq;
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await fetch(this.session.url({ seq }), {
            method: 'POST',
            headers: this.session.headers(),
            body,
            signal: this.controller.signal,
          });
          await response.body?.cancel();
          // 410: the session is closed; its close event comes over the poll.
          if (response.status === 410) this.outgoing.length = 0;
          break;
        } catch {
          // No answer: the same seq again (delivered once), unless the client is done.
          if (this.done || attempt >= 3) break;
        }
      }
    }
    this.pump = undefined;
  }

  /** Long-polls while the session is open and the client reads. */
  private async pollLoop(): Promise<void> {
    while (this.state !== 'closed' && this.reading) {
      let entries: Array<{ id: number; event?: string; data: string }>;
      try {
        const response = await fetch(this.session.url({ poll: 1, ack: this.session.lastId }), {
          headers: this.session.headers(),
          signal: this.controller.signal,
        });
        if (response.status === 410) {
          const info = (await response.json()) as { code?: number; reason?: string };
          this.finish(info.code ?? 1006, info.reason ?? '');
          return;
        }
        if (response.status !== 200) {
          await response.body?.cancel();
          this.finish(1006, `poll answered ${response.status}`);
          return;
        }
        entries = (await response.json()) as typeof entries;
      } catch {
        if (this.done) return;
        // A dropped connection: poll again shortly (nothing acknowledged is lost).
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      for (const entry of entries) {
        if (entry.id <= this.session.lastId) continue;
        this.session.lastId = entry.id;
        if (entry.event === 'close') {
          const info = JSON.parse(entry.data) as { code: number; reason: string };
          this.finish(info.code, info.reason);
          return;
        }
        this.box.push(JSON.parse(entry.data) as InboxFrame);
      }
    }
  }
}
