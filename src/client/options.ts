import type { WebSocketConstructor } from './types.js';

/** Options of {@link SignallingClient}. */
export interface SignallingClientOptions {
  /**
   * The WebSocket class. Pass `WebSocket` from the `ws` package on Node 20,
   * which has no global one.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Connect and log in again under the same name (with the resume token)
   * when the connection is lost after a login. The client does not reconnect
   * after `close()`, nor when the server kicked it (4403), another connection
   * took its name over (4409), it was rate-limited (4429), or an automatic
   * login was refused for good (`name-taken`, `unauthorized`, `invalid-name`).
   * @default true
   */
  reconnect?: boolean;
  /**
   * Milliseconds before the first reconnection attempt; each further attempt
   * doubles it, up to `maxReconnectDelay`. Each delay is jittered between half
   * and all of its value.
   * @default 500
   */
  reconnectDelay?: number;
  /**
   * Upper bound of the reconnection delay, in milliseconds.
   * @default 10000
   */
  maxReconnectDelay?: number;
  /**
   * Reconnection attempts in a row before the client gives up and closes.
   * @default Infinity
   */
  maxReconnectAttempts?: number;
  /**
   * Milliseconds to wait for the login reply, connecting included. A manual
   * `login()` then rejects with reason `timeout`; an automatic one drops the
   * connection and tries again.
   * @default 10000
   */
  loginTimeout?: number;
  /**
   * Source of randomness for the jitter, in [0, 1).
   * @default Math.random
   */
  random?: () => number;
}

export type ResolvedClientOptions = Required<Omit<SignallingClientOptions, 'WebSocket'>> &
  Pick<SignallingClientOptions, 'WebSocket'>;

export function resolveClientOptions(options: SignallingClientOptions): ResolvedClientOptions {
  return {
    WebSocket: options.WebSocket,
    reconnect: options.reconnect ?? true,
    reconnectDelay: options.reconnectDelay ?? 500,
    maxReconnectDelay: options.maxReconnectDelay ?? 10000,
    maxReconnectAttempts: options.maxReconnectAttempts ?? Infinity,
    loginTimeout: options.loginTimeout ?? 10000,
    random: options.random ?? Math.random,
  };
}
