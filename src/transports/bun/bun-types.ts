/**
 * The parts of Bun's `Bun.serve` API the adapter uses, written out so that
 * the package's typings do not need `bun-types` (which clashes with
 * `@types/node` in a Node project). Bun's own `Server` and `ServerWebSocket`
 * fit these shapes.
 */

/** Bun's `ServerWebSocket`, as far as the adapter uses it. */
export interface BunServerWebSocket<Data> {
  /** What `server.upgrade(request, { data })` attached. */
  readonly data: Data;
  /** Sends a text frame. Returns the bytes sent, `-1` when queued under backpressure, `0` when dropped. */
  sendText(data: string, compress?: boolean): number;
  /** Closes with a close frame. */
  close(code?: number, reason?: string): void;
  /** Drops the connection without a closing handshake. */
  terminate(): void;
  /** Sends a ping frame. */
  ping(): number;
  /** Bytes queued and not yet written to the socket. */
  getBufferedAmount(): number;
}

/** Bun's `Server`, as far as the adapter uses it (`Data`: what its sockets carry in `ws.data`). */
export interface BunServer<Data> {
  /** Upgrades `request` to a WebSocket; `false` when it is not a valid WebSocket handshake. */
  upgrade(request: Request, options: { headers?: HeadersInit; data: Data }): boolean;
  /** The address of the client that sent `request`. */
  requestIP?(request: Request): { readonly address: string } | null;
}

/**
 * The `websocket` option of `Bun.serve`: the handlers (one set per server,
 * each connection's state in `ws.data`) and the limits.
 */
export interface BunWebSocketHandler<Data> {
  open(ws: BunServerWebSocket<Data>): void;
  message(ws: BunServerWebSocket<Data>, message: string | Uint8Array): void;
  close(ws: BunServerWebSocket<Data>, code: number, reason: string): void;
  pong(ws: BunServerWebSocket<Data>, data: Uint8Array): void;
  /** Largest message Bun accepts; a larger one closes the connection with 1009. */
  readonly maxPayloadLength: number;
  /** Bytes Bun queues for a connection before `send` drops frames. */
  readonly backpressureLimit: number;
  readonly closeOnBackpressureLimit: boolean;
  /** Seconds without a received frame before Bun closes a connection (0: never). */
  readonly idleTimeout: number;
  /** Bun's own pings (off: the adapter pings itself, as the `ws` adapter does). */
  readonly sendPings: boolean;
  readonly perMessageDeflate: boolean;
  readonly publishToSelf: boolean;
}
