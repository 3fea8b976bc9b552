import {
  GOING_AWAY_CODE,
  HttpParam,
  LOST_CODE,
  NO_STATUS_CODE,
  CLOSED,
  CLOSING,
  CONNECTING,
  OPEN,
  sessionOpenedOf,
  STATUS_CREATED,
} from '../protocol/http-wire.js';
import { Downlink, type HttpSocketTransport } from './http/downlink.js';
import { type HttpSocketFetch, type HttpSocketResponse, type LinkOwner, parseJson, SessionLink } from './http/link.js';
import { Uplink } from './http/uplink.js';
import { fallbackUrl } from './http/url.js';
import type { WebSocketLike } from './types.js';

export type { HttpSocketTransport } from './http/downlink.js';
export type { HttpSocketFetch, HttpSocketRequestInit, HttpSocketResponse } from './http/link.js';

/**
 * The hub's HTTP fallback as a WebSocket-shaped object (see PROTOCOL.md,
 * "HTTP fallback"; the contract is in `protocol/http-wire.ts`). This file is
 * the socket's face and life (open, close, events); `http/` holds the
 * downlink (stream or long-poll, and its parser), the uplink (ordered POSTs)
 * and the link they share (requests, secret, acknowledgements).
 */

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
  /**
   * Characters a line of the event stream, or the data of one event, may
   * hold: a server that sends more is not followed further (the socket
   * closes with 1006 and an `error` event that says why). A frame is one
   * line; keep this above the largest message the hub may send.
   * @default 4194304
   */
  maxLineLength?: number;
}

type EventType = 'open' | 'message' | 'close' | 'error';
type Listener = (event: object) => void;

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
  private readonly listeners = new Map<EventType, Set<Listener>>();
  private readonly link: SessionLink;
  private readonly downlink: Downlink;
  private readonly uplink: Uplink;
  private pingTimer: ReturnType<typeof setInterval> | undefined;

  /** A class of sockets with `options`, for `SignallingClient`'s `WebSocket` option. */
  static with(options: HttpSocketOptions): new (url: string) => HttpSocket {
    return class extends HttpSocket {
      constructor(url: string) {
        super(url, options);
      }
    };
  }

  /**
   * @throws `SyntaxError` for a URL that is not ws, wss, http or https, or a
   * relative one where there is no page to resolve it against (Node).
   */
  constructor(url: string, options: HttpSocketOptions = {}) {
    this.url = url;
    const base = fallbackUrl(url);
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: HttpSocketFetch }).fetch?.bind(globalThis);
    if (fetchImpl === undefined) throw new TypeError('HttpSocket needs fetch: pass the fetch option');
    const maxLineLength = options.maxLineLength ?? 4194304;
    if (!Number.isInteger(maxLineLength) || maxLineLength < 1) {
      throw new RangeError(`HttpSocket: maxLineLength must be a whole number ≥ 1, got ${String(maxLineLength)}`);
    }
    // The link and its users end the socket through these, which are not part of its public face.
    const owner: LinkOwner = {
      readyState: () => this.state,
      fail: (reason) => this.fail(reason),
      closedByServer: (code, reason) => this.closedByServer(code, reason),
    };
    this.link = new SessionLink(owner, base, fetchImpl, { ...options.headers }, options.credentials ?? 'same-origin');
    this.downlink = new Downlink(
      this.link,
      { transport: options.transport ?? 'auto', streamTimeout: options.streamTimeout ?? 3000, maxLineLength },
      (data) => this.dispatch('message', { type: 'message', target: this, data }),
    );
    this.uplink = new Uplink(this.link);
    void this.connect();
  }

  get readyState(): number {
    return this.state;
  }

  /** How it receives now: `'stream'`, or `'poll'` (after the fallback in `'auto'`); `undefined` until open. */
  get transport(): HttpSocketTransport | undefined {
    return this.link.info === undefined ? undefined : this.downlink.mode;
  }

  /** UTF-16 units of the frames sent and not yet acknowledged by the server. */
  get bufferedAmount(): number {
    return this.uplink.bufferedAmount;
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
    this.uplink.send(String(data));
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

  // --- Opening and closing ---

  private async connect(): Promise<void> {
    let response: HttpSocketResponse;
    try {
      response = await this.link.request('POST', {}, {});
    } catch {
      this.fail('the server cannot be reached');
      return;
    }
    const text = await response.text().catch(() => '');
    if (this.state !== CONNECTING) return;
    const info = response.status === STATUS_CREATED || response.status === 200 ? sessionOpenedOf(parseJson(text)) : undefined;
    if (info === undefined) {
      // The status goes with the close event: a refusal (401, 403, 429, 503) is the client's to report, not to retry.
      this.fail(`the server refused the session (HTTP ${response.status})`, response.status);
      return;
    }
    this.link.info = info;
    this.state = OPEN;
    this.link.contact();
    this.dispatch('open', { type: 'open', target: this });
    if (this.state !== OPEN) return;
    const every = Math.max(50, Math.floor(info.timeout / 3));
    this.pingTimer = setInterval(() => {
      if (this.state === OPEN && this.downlink.mode === 'stream') this.uplink.ping(every);
    }, every);
    // A closing tab ends a browser's WebSocket with 1001 at once; say the same goodbye, or the
    // server would only notice when the session times out.
    const page = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
    if (typeof page.addEventListener === 'function' && 'document' in globalThis) {
      page.addEventListener('pagehide', this.unloading);
    }
    void this.downlink.run();
  }

  /** The page goes away: a `DELETE` with 1001 that outlives it (`keepalive`), then closed. */
  private readonly unloading = (): void => {
    if (this.state !== OPEN) return;
    const params = { [HttpParam.session]: this.link.info!.session, [HttpParam.code]: String(GOING_AWAY_CODE) };
    this.link.request('DELETE', params, { keepalive: true }).catch(() => {});
    this.finish(GOING_AWAY_CODE, 'the page went away', true);
  };

  private async goodbye(code: number | undefined, reason: string): Promise<void> {
    // Frames sent before close() go first, as on a WebSocket; not longer than the session would live.
    await this.uplink.drained(this.link.info!.timeout);
    if (this.ended) return;
    this.link.stopReading();
    try {
      const params: Record<string, string> = { [HttpParam.session]: this.link.info!.session };
      if (code !== undefined) params[HttpParam.code] = String(code);
      await this.link.request('DELETE', params, {});
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
    const session = this.link.info?.session;
    this.finish(code, reason, true);
    // Lets the server forget the session now rather than after its timeout.
    if (session !== undefined) this.link.request('DELETE', { [HttpParam.session]: session }, {}).catch(() => {});
  }

  /**
   * The connection is lost or was never made: `error`, then `close` with
   * 1006 (and the HTTP `status` of a refused session, which a WebSocket's
   * close event cannot tell).
   */
  private fail(reason: string, status?: number): void {
    if (this.ended) return;
    this.state = CLOSED;
    this.dispatch('error', { type: 'error', target: this, message: reason });
    this.finish(LOST_CODE, reason, false, status);
  }

  private finish(code: number, reason: string, wasClean: boolean, status?: number): void {
    if (this.ended) return;
    this.ended = true;
    const page = globalThis as { removeEventListener?: (type: string, listener: () => void) => void };
    page.removeEventListener?.('pagehide', this.unloading);
    this.state = CLOSED;
    this.link.stop();
    clearInterval(this.pingTimer);
    this.uplink.clear();
    this.dispatch('close', { type: 'close', target: this, code, reason, wasClean, status });
    this.listeners.clear();
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
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
