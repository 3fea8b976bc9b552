import {
  FRAMES_TYPE,
  LOST_CODE,
  OPEN,
  CLOSING,
  SECRET_HEADER,
  type SessionOpened,
  STATUS_CLOSED,
  STATUS_FORBIDDEN,
  STATUS_SESSION_GONE,
  STATUS_UNAUTHORIZED,
} from '../../protocol/http-wire.js';

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

/** What the link needs from its socket: its state, and the ways a session ends. */
export interface LinkOwner {
  /** The socket's `readyState` now. */
  readyState(): number;
  /** The connection is lost: `error`, then `close` with 1006. */
  fail(reason: string): void;
  /** The server closed the session with `code`. */
  closedByServer(code: number, reason: string): void;
}

/** How a request's outcome leaves the session: go on, try again later, or it is over. */
export type Outcome = 'ok' | 'retry' | 'stop';

/** A response's body as JSON, or `undefined`. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An answer after which the session's requests will never succeed. */
export function isSessionGone(status: number): boolean {
  return status === STATUS_SESSION_GONE || status === STATUS_FORBIDDEN || status === STATUS_UNAUTHORIZED;
}

/**
 * One session's requests, as the downlink and the uplink share them: the
 * URL, the secret header, the acknowledgement of the last event received,
 * when the server was last reached, and the timers and requests to cancel
 * when the socket closes.
 */
export class SessionLink {
  /** What the server said when it opened the session (`undefined` until then). */
  info: SessionOpened | undefined;
  /** The id of the last event received (acknowledged with every request). */
  lastEventId = 0;
  /** When the last request went out, and when the server was last reached (`Date.now()`). */
  lastRequestAt = 0;
  private lastContactAt = 0;
  private readonly aborts = new Set<AbortController>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    readonly owner: LinkOwner,
    private readonly base: URL,
    private readonly fetchImpl: HttpSocketFetch,
    private readonly headers: Readonly<Record<string, string>>,
    private readonly credentials: 'omit' | 'same-origin' | 'include',
  ) {}

  /** The session is open (or closing: frames sent before `close()` still go). */
  get usable(): boolean {
    const state = this.owner.readyState();
    return state === OPEN || state === CLOSING;
  }

  request(
    method: HttpSocketRequestInit['method'],
    params: Readonly<Record<string, string>>,
    init: { body?: string; accept?: string; signal?: AbortSignal; keepalive?: boolean },
  ): Promise<HttpSocketResponse> {
    const url = new URL(this.base.href);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const headers: Record<string, string> = { ...this.headers };
    if (this.info !== undefined) headers[SECRET_HEADER] = this.info.secret;
    if (init.accept !== undefined) headers.accept = init.accept;
    if (init.body !== undefined) headers['content-type'] = FRAMES_TYPE;
    this.lastRequestAt = Date.now();
    return this.fetchImpl(url.href, {
      method,
      headers,
      credentials: this.credentials,
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
      ...(init.keepalive === true ? { keepalive: true } : {}),
    });
  }

  /** The server answered. */
  contact(): void {
    this.lastContactAt = Date.now();
  }

  /** Whether the server has been out of reach for longer than the session lives. */
  unreachable(): boolean {
    return Date.now() - this.lastContactAt > this.info!.timeout;
  }

  /** Resolves after `ms`, unless the link is stopped first (then never: nothing waits on a closed socket). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /** An `AbortController` that {@link stopReading} aborts; `done` forgets it. */
  controller(): { controller: AbortController; done: () => void } {
    const controller = new AbortController();
    this.aborts.add(controller);
    return { controller, done: () => this.aborts.delete(controller) };
  }

  /** Aborts every read in progress. */
  stopReading(): void {
    for (const controller of this.aborts) controller.abort();
    this.aborts.clear();
  }

  /** Aborts every read and clears every timer: the socket is closed. */
  stop(): void {
    this.stopReading();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * An answer that ends the session (`stop`) or is worth another try
   * (`retry`: a proxy's 502/504, a busy server).
   */
  async refused(response: HttpSocketResponse): Promise<'stop' | 'retry'> {
    const status = response.status;
    const body = parseJson(await response.text().catch(() => '')) as { code?: unknown; reason?: unknown } | undefined;
    if (status === STATUS_CLOSED) {
      const code = typeof body?.code === 'number' ? body.code : LOST_CODE;
      this.owner.closedByServer(code, typeof body?.reason === 'string' ? body.reason : '');
      return 'stop';
    }
    if (isSessionGone(status)) {
      this.owner.fail(`the session is gone (HTTP ${status})`);
      return 'stop';
    }
    return 'retry';
  }
}
