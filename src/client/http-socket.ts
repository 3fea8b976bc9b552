import {
  EVENT_STREAM_TYPE,
  FRAMES_TYPE,
  GOING_AWAY_CODE,
  HttpEvent,
  HttpParam,
  HttpStatus,
  JSON_TYPE,
  LOST_CODE,
  NO_STATUS_CODE,
  POLL_ON,
  ReadyState,
  SECRET_HEADER,
  type SessionOpened,
  sessionOpenedOf,
  TRANSPORT_HTTP,
  TRANSPORT_PARAM,
} from '../protocol/http-wire.js';
import type { WebSocketLike } from './types.js';

/**
 * The hub's HTTP fallback as a WebSocket-shaped object (see PROTOCOL.md,
 * "HTTP fallback"; the contract is in `protocol/http-wire.ts`).
 */

/** How {@link HttpSocket} receives: a Server-Sent Events stream, or long-polling. */
export type HttpSocketTransport = 'stream' | 'poll';

/** What {@link HttpSocket} hands to `fetch` (a subset of `RequestInit`). */
export interface HttpSocketRequestInit {
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Lets the request outlive the page (the goodbye sent when a tab closes). */
  keepalive?: boolean;
  credentials?: 'omit' | 'same-origin' | 'include';
}

/** The part of a `fetch` response {@link HttpSocket} reads. */
export interface HttpSocketResponse {
  readonly status: number;
  text(): Promise<string>;
  readonly body: {
    getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> };
  } | null;
}

/** A `fetch` function: `globalThis.fetch` fits. */
export type HttpSocketFetch = (url: string, init: HttpSocketRequestInit) => Promise<HttpSocketResponse>;

/** Options of {@link HttpSocket}; pass them through {@link HttpSocket.with}. */
export interface HttpSocketOptions {
  /**
   * `'auto'`: a Server-Sent Events stream, switching to long-polling for good
   * when its first event does not arrive within `streamTimeout` (a proxy
   * holds the stream back) or the platform cannot read a response as a
   * stream; `'stream'` or `'poll'`: that one only.
   * @default 'auto'
   */
  transport?: 'auto' | HttpSocketTransport;
  /**
   * Milliseconds to wait for the stream's first event before falling back to long-polling.
   * @default 3000
   */
  streamTimeout?: number;
  /** @default globalThis.fetch */
  fetch?: HttpSocketFetch;
  /** Headers sent with every request (e.g. `Authorization` for the host's `verifyUpgrade`). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Whether cookies go with the requests: `'include'` for a hub on another
   * origin that lists this one in `origins`.
   * @default 'same-origin'
   */
  credentials?: 'omit' | 'same-origin' | 'include';
}

type EventType = 'open' | 'message' | 'close' | 'error';
type Listener = (event: object) => void;

/** One event from the server: a stream's SSE event or an entry of a long-poll's array. */
interface ServerEvent {
  id: string | undefined;
  event: string;
  data: string;
}

const { CONNECTING, OPEN, CLOSING, CLOSED } = ReadyState;

/** A `text/event-stream` parser (the WHATWG rules, less `retry`): feed it text, it calls back per event. */
class EventStreamParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  /** The last chunk ended in `\r`: a `\n` starting the next one belongs to it. */
  private afterCR = false;

  constructor(private readonly onEvent: (event: ServerEvent) => void) {}

  feed(text: string): void {
    let buffer = this.buffer + text;
    if (this.afterCR && buffer.startsWith('\n')) buffer = buffer.slice(1);
    this.afterCR = false;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 === buffer.length) this.afterCR = true;
        else if (buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ id: this.id, event: this.event || HttpEvent.message, data: this.data.join('\n') });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An answer after which the session's requests will never succeed. */
function isSessionGone(status: number): boolean {
  return status === HttpStatus.SessionGone || status === HttpStatus.Forbidden || status === HttpStatus.Unauthorized;
}

function stateError(message: string): Error {
  const DOMExceptionClass = (globalThis as { DOMException?: new (message: string, name: string) => Error }).DOMException;
  return DOMExceptionClass === undefined ? new Error(message) : new DOMExceptionClass(message, 'InvalidStateError');
}

/**
 * A WebSocket-shaped client of the hub's HTTP fallback: `new HttpSocket(url)`
 * with the hub's `ws://`/`wss://` (or `http(s)://`) URL, then `send`,
 * `close` and `open`/`message`/`close`/`error` events as with a WebSocket,
 * so `SignallingClient` runs over it unchanged:
 *
 * ```ts
 * const client = new SignallingClient('wss://example.com/signalling', { WebSocket: HttpSocket });
 * ```
 *
 * It creates a session with a POST, receives over a Server-Sent Events
 * stream read with `fetch` (the session's secret goes in a header, never in
 * a URL, which `EventSource` cannot do) or, where a proxy holds the stream
 * back, by long-polling, and sends with POSTs numbered so that the hub gets
 * the frames in order, once, even when a POST is retried. A lost stream or
 * poll is resumed from the last event received; the socket closes with 1006
 * once the server has not been reached for the session's timeout.
 */
export class HttpSocket implements WebSocketLike {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  /** The URL as given. */
  readonly url: string;
  readonly protocol = '';
  readonly extensions = '';
  onopen: Listener | null = null;
  onmessage: Listener | null = null;
  onclose: Listener | null = null;
  onerror: Listener | null = null;

  private state: number = CONNECTING;
  /** The close event went out: nothing more happens. */
  private ended = false;
  private readonly base: URL;
  private readonly options: Required<Omit<HttpSocketOptions, 'fetch' | 'headers'>> & {
    headers: Readonly<Record<string, string>>;
  };
  private readonly fetchImpl: HttpSocketFetch;
  private readonly listeners = new Map<EventType, Set<Listener>>();
  private info: SessionOpened | undefined;
  private mode: HttpSocketTransport;
  /** The stream delivered its first event once: the way is clear, it is not probed again. */
  private streamConfirmed = false;
  /** The id of the last event received (acknowledged with every request). */
  private lastEventId = 0;
  private seq = 0;
  private outgoing: string[] = [];
  private outgoingBytes = 0;
  private inFlightBytes = 0;
  private pumping = false;
  private drainWaiters: Array<() => void> = [];
  private readonly aborts = new Set<AbortController>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastRequestAt = 0;
  private lastContactAt = 0;

  /** A class of sockets with `options`, for `SignallingClient`'s `WebSocket` option. */
  static with(options: HttpSocketOptions): new (url: string) => HttpSocket {
    return class extends HttpSocket {
      constructor(url: string) {
        super(url, options);
      }
    };
  }

  constructor(url: string, options: HttpSocketOptions = {}) {
    this.url = url;
    const base = new URL(url);
    if (base.protocol === 'ws:') base.protocol = 'http:';
    else if (base.protocol === 'wss:') base.protocol = 'https:';
    else if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new SyntaxError(`HttpSocket: the URL's scheme must be ws, wss, http or https, got ${base.protocol}`);
    }
    base.hash = '';
    base.searchParams.set(TRANSPORT_PARAM, TRANSPORT_HTTP);
    this.base = base;
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: HttpSocketFetch }).fetch?.bind(globalThis);
    if (fetchImpl === undefined) throw new TypeError('HttpSocket needs fetch: pass the fetch option');
    this.fetchImpl = fetchImpl;
    this.options = {
      transport: options.transport ?? 'auto',
      streamTimeout: options.streamTimeout ?? 3000,
      credentials: options.credentials ?? 'same-origin',
      headers: { ...options.headers },
    };
    this.mode = this.options.transport === 'poll' ? 'poll' : 'stream';
    void this.connect();
  }

  get readyState(): number {
    return this.state;
  }

  /** How it receives now: `'stream'`, or `'poll'` (after the fallback in `'auto'`); `undefined` until open. */
  get transport(): HttpSocketTransport | undefined {
    return this.info === undefined ? undefined : this.mode;
  }

  /** UTF-16 units of the frames sent and not yet acknowledged by the server. */
  get bufferedAmount(): number {
    return this.outgoingBytes + this.inFlightBytes;
  }

  addEventListener(type: EventType, listener: Listener): void {
    let set = this.listeners.get(type);
    if (set === undefined) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: EventType, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }

  /** Sends one text frame; throws while connecting, and drops it once closing (as a WebSocket does). */
  send(data: string): void {
    if (this.state === CONNECTING) throw stateError("Failed to execute 'send' on 'HttpSocket': Still in CONNECTING state.");
    if (this.state !== OPEN) return;
    const text = String(data);
    this.outgoing.push(text);
    this.outgoingBytes += text.length;
    if (!this.pumping) {
      this.pumping = true;
      // Frames sent in the same task go in one POST.
      queueMicrotask(() => void this.pump());
    }
  }

  /**
   * Closes: the frames already sent go first, then a `DELETE` says goodbye
   * with `code` (1000, or 3000–4999; none: the server hears 1005, as from a
   * close frame without a code); the `close` event follows.
   */
  close(code?: number, reason = ''): void {
    if (code !== undefined && code !== 1000 && (!Number.isInteger(code) || code < 3000 || code > 4999)) {
      throw stateError(`HttpSocket: the close code must be 1000 or from 3000 to 4999, got ${code}`);
    }
    if (this.state === CLOSING || this.state === CLOSED) return;
    if (this.state === CONNECTING) {
      this.fail('closed before the connection was established');
      return;
    }
    this.state = CLOSING;
    void this.goodbye(code, reason);
  }

  // --- Connecting and closing ---

  private async connect(): Promise<void> {
    let response: HttpSocketResponse;
    try {
      response = await this.request('POST', {}, {});
    } catch {
      this.fail('the server cannot be reached');
      return;
    }
    const text = await response.text().catch(() => '');
    if (this.state !== CONNECTING) return;
    const info = response.status === HttpStatus.Created || response.status === 200 ? sessionOpenedOf(parseJson(text)) : undefined;
    if (info === undefined) {
      this.fail(`the server refused the session (HTTP ${response.status})`);
      return;
    }
    this.info = info;
    this.state = OPEN;
    this.contact();
    this.dispatch('open', { type: 'open', target: this });
    if (this.state !== OPEN) return;
    const every = Math.max(50, Math.floor(info.timeout / 3));
    this.pingTimer = setInterval(() => this.ping(every), every);
    // A closing tab ends a browser's WebSocket with 1001 at once; say the same goodbye, or the
    // server would only notice when the session times out.
    const page = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
    if (typeof page.addEventListener === 'function' && 'document' in globalThis) {
      page.addEventListener('pagehide', this.unloading);
    }
    void this.readLoop();
  }

  /** The page goes away: a `DELETE` with 1001 that outlives it (`keepalive`), then closed. */
  private readonly unloading = (): void => {
    if (this.state !== OPEN) return;
    this.request(
      'DELETE',
      { [HttpParam.session]: this.info!.session, [HttpParam.code]: String(GOING_AWAY_CODE) },
      { keepalive: true },
    ).catch(() => {});
    this.finish(GOING_AWAY_CODE, 'the page went away', true);
  };

  private async goodbye(code: number | undefined, reason: string): Promise<void> {
    // Frames sent before close() go first, as on a WebSocket; not longer than the session would live.
    await this.drained(this.info!.timeout);
    if (this.ended) return;
    this.stopReading();
    try {
      const params: Record<string, string> = { [HttpParam.session]: this.info!.session };
      if (code !== undefined) params[HttpParam.code] = String(code);
      await this.request('DELETE', params, {});
    } catch {
      // The session expires on the server.
    }
    this.finish(code ?? NO_STATUS_CODE, reason, true);
  }

  /** The server closed the session with `code` (its close event, or a 410 naming it). */
  private closedByServer(code: number, reason: string): void {
    if (this.ended) return;
    if (code === LOST_CODE) {
      this.fail(reason);
      return;
    }
    const session = this.info?.session;
    this.finish(code, reason, true);
    // Lets the server forget the session now rather than after its timeout.
    if (session !== undefined) this.request('DELETE', { [HttpParam.session]: session }, {}).catch(() => {});
  }

  /** The connection is lost or was never made: `error`, then `close` with 1006. */
  private fail(reason: string): void {
    if (this.ended) return;
    this.state = CLOSED;
    this.dispatch('error', { type: 'error', target: this, message: reason });
    this.finish(LOST_CODE, reason, false);
  }

  private finish(code: number, reason: string, wasClean: boolean): void {
    if (this.ended) return;
    this.ended = true;
    const page = globalThis as { removeEventListener?: (type: string, listener: () => void) => void };
    page.removeEventListener?.('pagehide', this.unloading);
    this.state = CLOSED;
    this.stopReading();
    clearInterval(this.pingTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.outgoing = [];
    this.outgoingBytes = 0;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    this.dispatch('close', { type: 'close', target: this, code, reason, wasClean });
    this.listeners.clear();
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
  }

  private stopReading(): void {
    for (const controller of this.aborts) controller.abort();
    this.aborts.clear();
  }

  // --- Requests ---

  private request(
    method: HttpSocketRequestInit['method'],
    params: Readonly<Record<string, string>>,
    init: { body?: string; accept?: string; signal?: AbortSignal; keepalive?: boolean },
  ): Promise<HttpSocketResponse> {
    const url = new URL(this.base.href);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const headers: Record<string, string> = { ...this.options.headers };
    if (this.info !== undefined) headers[SECRET_HEADER] = this.info.secret;
    if (init.accept !== undefined) headers.accept = init.accept;
    if (init.body !== undefined) headers['content-type'] = FRAMES_TYPE;
    this.lastRequestAt = Date.now();
    return this.fetchImpl(url.href, {
      method,
      headers,
      credentials: this.options.credentials,
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
      ...(init.keepalive === true ? { keepalive: true } : {}),
    });
  }

  private contact(): void {
    this.lastContactAt = Date.now();
  }

  /** Whether the server has been out of reach for longer than the session lives. */
  private unreachable(): boolean {
    return Date.now() - this.lastContactAt > this.info!.timeout;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /**
   * An answer that ends the session (`stop`) or is worth another try
   * (`retry`: a proxy's 502/504, a busy server).
   */
  private async refused(response: HttpSocketResponse): Promise<'stop' | 'retry'> {
    const status = response.status;
    const body = parseJson(await response.text().catch(() => '')) as { code?: unknown; reason?: unknown } | undefined;
    if (status === HttpStatus.Closed) {
      const code = typeof body?.code === 'number' ? body.code : LOST_CODE;
      this.closedByServer(code, typeof body?.reason === 'string' ? body.reason : '');
      return 'stop';
    }
    if (isSessionGone(status)) {
      this.fail(`the session is gone (HTTP ${status})`);
      return 'stop';
    }
    return 'retry';
  }

  // --- Receiving ---

  private async readLoop(): Promise<void> {
    let failures = 0;
    while (this.state === OPEN) {
      const outcome = this.mode === 'stream' ? await this.readStream() : await this.readPoll();
      if (this.state !== OPEN || outcome === 'stop') return;
      if (outcome === 'ok') {
        failures = 0;
        continue;
      }
      failures++;
      if (this.unreachable()) {
        this.fail('the server cannot be reached');
        return;
      }
      await this.sleep(Math.min(100 * 2 ** Math.min(failures, 6), 5000));
    }
  }

  private handle(event: ServerEvent): void {
    if (this.state !== OPEN && this.state !== CLOSING) return;
    if (event.event === HttpEvent.close) {
      const info = parseJson(event.data) as { code?: unknown; reason?: unknown } | undefined;
      this.closedByServer(
        typeof info?.code === 'number' ? info.code : LOST_CODE,
        typeof info?.reason === 'string' ? info.reason : '',
      );
      return;
    }
    if (event.event !== HttpEvent.message || event.id === undefined) return;
    const id = Number(event.id);
    // A frame received before (sent again after a reconnection) is not delivered twice.
    if (!Number.isSafeInteger(id) || id <= this.lastEventId) return;
    this.lastEventId = id;
    this.dispatch('message', { type: 'message', target: this, data: event.data });
  }

  private async readStream(): Promise<'ok' | 'retry' | 'stop'> {
    const controller = new AbortController();
    this.aborts.add(controller);
    const probing = this.options.transport === 'auto' && !this.streamConfirmed;
    let opened = false;
    let heldBack = false;
    let answered = false;
    const probe = probing
      ? setTimeout(() => {
          heldBack = true;
          controller.abort();
        }, this.options.streamTimeout)
      : undefined;
    // Nothing at all (not even a heartbeat) for two heartbeats: the stream is dead, open another.
    const heartbeat = this.info!.heartbeat;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const watch = () => {
      if (heartbeat === 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), 2 * heartbeat + 5000);
    };
    const parser = new EventStreamParser((event) => {
      if (event.event === HttpEvent.open) {
        opened = true;
        this.streamConfirmed = true;
        clearTimeout(probe);
        return;
      }
      this.handle(event);
    });
    try {
      watch();
      const response = await this.request(
        'GET',
        { [HttpParam.session]: this.info!.session, [HttpParam.ack]: String(this.lastEventId) },
        { accept: EVENT_STREAM_TYPE, signal: controller.signal },
      );
      if (response.status !== 200) {
        clearTimeout(probe);
        return await this.refused(response);
      }
      this.contact();
      answered = true;
      if (response.body === null) {
        // No streaming responses here: long-polling.
        this.mode = 'poll';
        return 'ok';
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.contact();
        watch();
        parser.feed(decoder.decode(value, { stream: true }));
        if (this.state !== OPEN) {
          controller.abort();
          return 'stop';
        }
      }
    } catch {
      // Aborted (held back, dead, closing) or a network failure.
    } finally {
      clearTimeout(probe);
      clearTimeout(idle);
      this.aborts.delete(controller);
    }
    if (this.state !== OPEN) return 'stop';
    if (!opened && probing && (heldBack || answered)) {
      // The first event did not come through: a proxy buffers the stream. Long-polling from now on.
      this.mode = 'poll';
      return 'ok';
    }
    return opened ? 'ok' : 'retry';
  }

  private async readPoll(): Promise<'ok' | 'retry' | 'stop'> {
    const controller = new AbortController();
    this.aborts.add(controller);
    // The server answers within its poll timeout; a poll stuck longer is dropped and made again.
    const timer = setTimeout(() => controller.abort(), this.info!.pollTimeout + 10000);
    try {
      const response = await this.request(
        'GET',
        { [HttpParam.session]: this.info!.session, [HttpParam.poll]: POLL_ON, [HttpParam.ack]: String(this.lastEventId) },
        { accept: JSON_TYPE, signal: controller.signal },
      );
      if (response.status !== 200) return await this.refused(response);
      const events = parseJson(await response.text());
      if (!Array.isArray(events)) return 'retry';
      this.contact();
      for (const entry of events as Array<{ id?: unknown; event?: unknown; data?: unknown }>) {
        if (typeof entry?.data !== 'string') continue;
        this.handle({
          id: typeof entry.id === 'number' ? String(entry.id) : undefined,
          event: typeof entry.event === 'string' ? entry.event : HttpEvent.message,
          data: entry.data,
        });
      }
      return this.state === OPEN ? 'ok' : 'stop';
    } catch {
      return this.state === OPEN ? 'retry' : 'stop';
    } finally {
      clearTimeout(timer);
      this.aborts.delete(controller);
    }
  }

  // --- Sending ---

  /** Sends what is queued, one POST at a time (each numbered), until nothing is left. */
  private async pump(): Promise<void> {
    try {
      while (this.outgoing.length > 0 && (this.state === OPEN || this.state === CLOSING)) {
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
    const limit = this.info!.maxBodyBytes;
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
    const seq = String(++this.seq);
    const body = JSON.stringify(batch);
    for (let attempt = 1; ; attempt++) {
      if (this.state !== OPEN && this.state !== CLOSING) return 'stop';
      let response: HttpSocketResponse | undefined;
      try {
        response = await this.request(
          'POST',
          { [HttpParam.session]: this.info!.session, [HttpParam.seq]: seq, [HttpParam.ack]: String(this.lastEventId) },
          { body },
        );
      } catch {
        response = undefined;
      }
      if (response !== undefined) {
        const status = response.status;
        if (status === HttpStatus.Delivered || status === HttpStatus.Held) {
          this.contact();
          return 'ok';
        }
        // 400 (a frame that is not text) or 413 (too large): the server closes the session; its close event follows.
        if (status === HttpStatus.BadRequest || status === HttpStatus.TooLarge) return 'stop';
        if (status === HttpStatus.Closed || isSessionGone(status)) {
          await this.refused(response);
          return 'stop';
        }
        this.contact();
        await response.text().catch(() => '');
      }
      if (this.unreachable() || attempt >= 20) {
        this.fail('the server cannot be reached');
        return 'stop';
      }
      await this.sleep(Math.min(100 * 2 ** Math.min(attempt, 6), 5000));
    }
  }

  /** Resolves once nothing is queued or in flight, or after `ms`. */
  private drained(ms: number): Promise<void> {
    if (!this.pumping && this.outgoing.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Tells the server the client is there, when nothing else did lately (a stream alone says nothing upward). */
  private ping(every: number): void {
    if (this.state !== OPEN || this.mode !== 'stream' || this.pumping) return;
    if (Date.now() - this.lastRequestAt < every) return;
    this.request('POST', { [HttpParam.session]: this.info!.session, [HttpParam.ack]: String(this.lastEventId) }, {})
      .then((response) => {
        if (response.status === HttpStatus.Delivered) this.contact();
        else if (response.status === HttpStatus.SessionGone || response.status === HttpStatus.Closed) void this.refused(response);
      })
      .catch(() => {
        // The read loop notices an unreachable server.
      });
  }

  // --- Events ---

  private dispatch(type: EventType, event: object): void {
    const handler = this[`on${type}`];
    for (const listener of [...(this.listeners.get(type) ?? [])]) this.call(listener, event);
    if (typeof handler === 'function') this.call(handler, event);
  }

  private call(listener: Listener, event: object): void {
    try {
      listener.call(this, event);
    } catch (error) {
      // As an EventTarget does: the other listeners still run, and the error is reported, not swallowed.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
