/**
 * What the hub needs from one connection of any transport (a `ws` socket, a
 * Bun socket, an in-memory pair in tests). Adapters implement it; the core
 * never touches a socket directly.
 */
export interface Transport {
  /**
   * Send one text frame: its text, or its UTF-8 bytes. Bytes are valid only
   * during the call (the hub reuses the buffer): write or copy them before
   * returning. Must not throw once the connection is closing.
   */
  send(message: string | Uint8Array): void;
  /**
   * Close the connection with a WebSocket close code and a reason of at most
   * 123 UTF-8 bytes (the hub cuts longer ones with `limitCloseReason`). If it
   * throws, the hub reports a `TransportError` and calls {@link terminate}:
   * a connection the hub let go of must not stay open.
   */
  close(code: number, reason: string): void;
  /** Drop the connection at once, without a closing handshake. Used when `close()` threw. */
  terminate?(): void;
  /**
   * Bytes queued for this connection and not yet written, when the transport
   * can tell. The hub closes a connection whose queue passes `maxBufferedBytes`.
   */
  readonly bufferedAmount?: number;
  /**
   * The connection logged in: called once per successful login (a resume
   * included), just before the login reply is sent. A connection never
   * leaves the logged-in state but by closing, which the transport sees.
   * For transports that treat connections that have not logged in yet
   * differently (the HTTP fallback bounds them per client); never called on
   * the relay path. If it throws, the hub reports a `TransportError` and the
   * login goes on.
   */
  joined?(): void;
}

/**
 * The HTTP upgrade request as far as the hub reads it. Node's
 * `http.IncomingMessage` fits this shape.
 */
export interface UpgradeRequest {
  readonly url?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket?: { readonly remoteAddress?: string };
}

/** What an adapter knows about a new connection. */
export interface ConnectionInfo {
  /** The upgrade request; handed to `authenticate` and dropped after login. */
  request?: UpgradeRequest;
  /** The peer's address, kept for the host to read on {@link Peer}. */
  remoteAddress?: string;
}

/**
 * The hub's side of one connection, returned by `hub.open()`. The adapter
 * feeds it what arrives and tells it when the connection is gone.
 */
export interface TransportSession {
  /**
   * A text frame arrived: its text, or its UTF-8 bytes. Bytes must be valid
   * UTF-8 (WebSocket requires it of text frames, and `ws` checks it); they are
   * read during the call only, so the adapter may reuse them afterwards. Either
   * way a well-formed relay takes the strict byte scan and is forwarded without
   * a JSON round: bytes as bytes, ASCII text as text (so a transport that sends
   * strings, like Bun's, gets its frames without a decode). Pass what the
   * transport already has; do not convert.
   */
  receive(message: string | Uint8Array): void;
  /** A binary frame arrived (the protocol is text only; it is answered with an error). */
  receiveBinary(): void;
  /** The connection closed, for whatever reason. Idempotent. */
  closed(code?: number): void;
}
