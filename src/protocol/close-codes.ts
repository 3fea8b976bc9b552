/**
 * WebSocket close codes the hub uses. 1000–1015 are the standard codes; the
 * hub's own follow graphql-ws: 4000 + the nearest HTTP status.
 *
 * Close reasons are cut to 123 UTF-8 bytes (`limitCloseReason`), as RFC 6455 requires.
 */
export enum CloseCode {
  /** The hub, or the adapter's path, is shutting down. */
  GoingAway = 1001,
  /** A frame larger than `maxMessageBytes` (sent by the `ws` adapter itself). */
  MessageTooBig = 1009,
  /**
   * Sent by a client that closes on purpose and will be back (it switches
   * networks or servers, or restarts): a resumable peer that closes with it
   * keeps its name for `resumeGrace`, as after a lost connection. Any other
   * close frame a client sends (1000, 1001, none at all: 1005, …) is a
   * goodbye: the peer leaves at once.
   */
  Reconnecting = 4000,
  /** The host disconnected the peer (`hub.disconnect`). */
  Forbidden = 4403,
  /** The connection did not log in within `loginTimeout`. */
  LoginTimeout = 4408,
  /** Another connection logged in with this connection's name and resume token. */
  Replaced = 4409,
  /**
   * The cluster found this connection's name held on another node too (after
   * a backplane outage split it); this connection lost the name. Log in again.
   */
  ClaimLost = 4410,
  /** The connection kept sending after its rate limit was exceeded. */
  TooManyMessages = 4429,
  /** An unexpected error inside the hub. */
  InternalError = 4500,
  /**
   * The server is going away (a drain for a restart or a deploy): reconnect
   * (a load balancer picks another node) and resume with the token; the
   * name stays reserved for `resumeGrace`.
   */
  Reconnect = 4503,
  /**
   * The connection stopped reading: more than `maxBufferedBytes` stayed queued
   * to it for `slowConsumerTimeout` ms.
   */
  SlowConsumer = 4507,
}
