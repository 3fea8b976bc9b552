import { CloseCode } from '../protocol/close-codes.js';
import { refusalOf, STATUS_ADMITTED } from '../protocol/http-wire.js';
import { probeHandshake } from './handshake-probe.js';
import { HttpSocket } from './http-socket.js';
import type { ResolvedClientOptions } from './options.js';
import { pageHref } from './page.js';
import type { Credentials, TransportEvent, WebSocketConstructor, WebSocketLike } from './types.js';

/** What the connector tells its client about the socket in use. */
export interface ConnectorHost {
  /** A socket is opening. */
  connecting(): void;
  /** The socket opened. */
  opened(): void;
  message(data: unknown): void;
  /** The socket closed, or could not be made: the connection is lost. */
  closed(code: number, reason: string): void;
  /**
   * The hub refused the handshake with HTTP `status` (401, 403, 429, 503; `message`: its
   * text, when it gave one): never a reason to fall back to HTTP.
   */
  refused(status: number, message: string | undefined): void;
  /** No socket can be made at all (`transport: 'websocket'` without a WebSocket class). */
  unavailable(message: string): void;
  /** Whether a login waits for the connection (a failed upgrade then counts towards the fallback). */
  wantsLogin(): boolean;
  transport(event: TransportEvent): void;
}

/**
 * How the client reaches the hub: which of its URLs (a failed one, or one
 * whose server goes away, is followed by the next), and which transport —
 * WebSocket, or the hub's HTTP fallback when `transport: 'auto'` finds the
 * WebSocket blocked (no class, an upgrade failing twice, or not opening
 * within `fallbackTimeout`). Events of a socket it has let go of are ignored.
 */
export class Connector {
  /** The socket in use, if any. */
  socket: WebSocketLike | undefined;
  /** Whether the current socket got a successful login (else, when it is lost, the next URL is tried). */
  loggedInHere = false;
  /** What the `credentials` callback gave last: its query and headers go with every connection. */
  credentials: Credentials | undefined;
  /** Bumped by each connection and by `stop()`: a probe answering after either is not heard. */
  private generation = 0;
  /** Index in `urls` of the one in use. */
  private at = 0;
  /** URLs the pending `login()` has tried. */
  private tried = 0;
  private currentTransport: 'websocket' | 'http' | undefined;
  /** `transport: 'auto'` fell back to HTTP. */
  private onHttp = false;
  private fallbackReason: string | undefined;
  private fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  /** WebSocket upgrades in a row that failed before they opened. */
  private upgradeFailures = 0;

  constructor(
    readonly urls: readonly string[],
    private readonly options: ResolvedClientOptions,
    private readonly host: ConnectorHost,
  ) {}

  get url(): string {
    return this.urls[this.at]!;
  }

  get transport(): 'websocket' | 'http' | undefined {
    return this.currentTransport;
  }

  /** A `login()` starts: it tries each URL once. */
  startTrying(): void {
    this.tried = 0;
  }

  /** Opens a socket to the current URL. */
  connect(): void {
    const WebSocketClass = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const mode = this.options.transport;
    if (mode === 'websocket' && WebSocketClass === undefined) {
      this.host.unavailable('No WebSocket implementation: pass the WebSocket option (e.g. from the ws package)');
      return;
    }
    // No WebSocket at all (a page or runtime without it): straight to the HTTP fallback.
    if (mode === 'auto' && WebSocketClass === undefined) {
      this.useHttp('no WebSocket implementation (Node 20 has none: pass the WebSocket option, e.g. from the ws package)');
    }
    const http = mode === 'http' || this.onHttp;
    const generation = ++this.generation;
    const { query, headers } = this.credentials ?? {};
    const allHeaders = { ...this.options.http.headers, ...headers };
    let url = this.url;
    let socket: WebSocketLike;
    // The status of a refused upgrade, where the WebSocket class tells it (the ws package).
    let status: number | undefined;
    try {
      url = withQuery(url, query);
      if (http) socket = new HttpSocket(url, { ...this.options.http, headers: allHeaders });
      else {
        // Headers are the ws package's third argument; a browser's WebSocket takes none.
        socket =
          headers === undefined ? new WebSocketClass!(url) : new WebSocketClass!(url, undefined, { headers: { ...headers } });
        const emitter = socket as {
          once?: (event: string, listener: (request: unknown, response: { statusCode?: number }) => void) => void;
        };
        // With a listener, ws leaves the aborting to it: close() aborts the handshake, and `close` (1006) follows.
        emitter.once?.('unexpected-response', (_request, response) => {
          status = response.statusCode;
          socket.close();
        });
      }
    } catch (error) {
      this.host.closed(1006, error instanceof Error ? error.message : String(error));
      return;
    }
    this.setTransport(http ? 'http' : 'websocket');
    // Auto: a WebSocket that does not open in time (a proxy that swallows the upgrade) gives way to HTTP.
    if (!http && mode === 'auto') {
      clearTimeout(this.fallbackTimer);
      this.fallbackTimer = setTimeout(() => {
        if (this.socket !== socket || this.loggedInHere) return;
        this.useHttp(`the WebSocket did not open within ${this.options.fallbackTimeout} ms`);
        this.socket = undefined;
        socket.close(1000, 'falling back to HTTP');
        this.connect();
      }, this.options.fallbackTimeout);
    }
    this.socket = socket;
    this.loggedInHere = false;
    this.host.connecting();
    let opened = false;
    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      opened = true;
      // It opened: the way is clear (a slow login is the hub's business, not the transport's).
      clearTimeout(this.fallbackTimer);
      this.upgradeFailures = 0;
      this.host.opened();
    });
    socket.addEventListener('message', (event) => {
      if (this.socket === socket) this.host.message((event as { data?: unknown }).data);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      const { code, reason, status: refusedSession } = event as { code?: number; reason?: string; status?: number };
      const known = status ?? refusedSession;
      if (!opened && refusalOf(known) !== undefined) {
        clearTimeout(this.fallbackTimer);
        // A refused HTTP session after a fallback: the next connection tries a WebSocket first again.
        if (http && mode === 'auto') this.onHttp = false;
        this.host.refused(known!, undefined);
        return;
      }
      if (!opened && !http && known === undefined) {
        // A browser cannot see why the upgrade failed: ask the hub before deciding (refused, or fall back).
        clearTimeout(this.fallbackTimer);
        void probeHandshake(url, this.options.http, allHeaders, this.options.fallbackTimeout).then((answer) => {
          if (generation !== this.generation) return;
          if (answer !== undefined && answer.status !== STATUS_ADMITTED) this.host.refused(answer.status, answer.message);
          else this.failed(mode, http, opened, code, reason);
        });
        return;
      }
      this.failed(mode, http, opened, code, reason);
    });
    // A failed connection also fires `close`, which handles it.
    socket.addEventListener('error', () => {});
  }

  /** The socket closed, not refused by the hub: a blocked WebSocket gives way to HTTP, else the connection is lost. */
  private failed(
    mode: ResolvedClientOptions['transport'],
    http: boolean,
    opened: boolean,
    code: number | undefined,
    reason: string | undefined,
  ): void {
    // Auto: WebSocket upgrades that fail twice in a row before they open (a proxy in the way, not
    // one busy node behind a balancer: that one a second try passes by) give way to HTTP.
    if (!http && mode === 'auto' && !opened && this.host.wantsLogin()) {
      clearTimeout(this.fallbackTimer);
      if (++this.upgradeFailures >= 2) {
        this.upgradeFailures = 0;
        this.useHttp(`the WebSocket upgrade failed twice (${code ?? 1006})`);
        this.connect();
        return;
      }
      // One URL: the second try comes at once (several: the next URL is the second try).
      if (this.urls.length === 1) {
        this.connect();
        return;
      }
    }
    // HTTP failed too before a login (the hub is down, not a proxy in the way): WebSocket first again next time.
    if (http && mode === 'auto' && !this.loggedInHere) this.onHttp = false;
    this.host.closed(code ?? 1006, reason ?? '');
  }

  /** Lets go of the current socket (its events are ignored from now on) and returns it. */
  release(): WebSocketLike | undefined {
    const socket = this.socket;
    this.socket = undefined;
    return socket;
  }

  /**
   * The connection was lost with `code`: a URL that failed (no login on it),
   * or whose server is going away, is followed by the next one. Returns
   * whether a pending `login()` (`manualLogin`) should try that next URL at
   * once (it tries each one once).
   */
  lost(code: number, manualLogin: boolean): boolean {
    clearTimeout(this.fallbackTimer);
    const elsewhere = !this.loggedInHere || code === 1001 || code === (CloseCode.Reconnect as number);
    this.loggedInHere = false;
    if (elsewhere) this.at = (this.at + 1) % this.urls.length;
    return elsewhere && manualLogin && ++this.tried < this.urls.length;
  }

  /** Stops the fallback timer and any probe (the client is closed). */
  stop(): void {
    clearTimeout(this.fallbackTimer);
    this.generation++;
  }

  private setTransport(transport: 'websocket' | 'http'): void {
    if (transport === this.currentTransport) return;
    this.currentTransport = transport;
    this.host.transport({ transport, reason: transport === 'http' ? this.fallbackReason : undefined });
  }

  /** Falls back to HTTP for the rest of this client's life (a network that blocks WebSockets keeps doing so). */
  private useHttp(reason: string): void {
    this.onHttp = true;
    this.fallbackReason = reason;
  }
}

/** `url` with `query`'s parameters set (a relative URL is resolved against the page first). */
function withQuery(url: string, query: Readonly<Record<string, string>> | undefined): string {
  if (query === undefined) return url;
  const parsed = new URL(url, pageHref());
  for (const key of Object.keys(query)) parsed.searchParams.set(key, String(query[key]));
  return parsed.href;
}
