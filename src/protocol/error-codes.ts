/**
 * Machine-readable `code` of an `{"type":"error"}` reply. The connection stays
 * open after every one of them.
 */
export enum ErrorCode {
  /** The frame is not valid JSON. */
  InvalidJson = 'invalid-json',
  /** Valid JSON of the wrong shape: not an object, no `type`, a missing or mistyped field. */
  InvalidMessage = 'invalid-message',
  /** `type` is not one the protocol knows ("Command not found: <type>"). */
  UnknownType = 'unknown-type',
  /** A relay (offer, answer, candidate, leave) before a successful login. */
  NotLoggedIn = 'not-logged-in',
  /** The target name is logged in nowhere. */
  PeerNotFound = 'peer-not-found',
  /**
   * The target is not reading fast enough: more than `maxBufferedBytes` are
   * queued to it, so this relay was dropped. Send it again later.
   */
  PeerCongested = 'peer-congested',
  /**
   * The target dropped and did not resume within `resumeGrace`: a relay that
   * was held for it was never delivered (one error per sender and target).
   */
  PeerGone = 'peer-gone',
  /** The target is on another node and the cluster backplane is unreachable. */
  BackplaneUnavailable = 'backplane-unavailable',
  /** The frame is larger than `maxMessageBytes`. */
  MessageTooLarge = 'message-too-large',
  /** A binary frame: the protocol is JSON text only. */
  BinaryNotSupported = 'binary-not-supported',
  /** The connection exceeded its rate limit; the message was dropped. */
  RateLimited = 'rate-limited',
  /** Too many messages arrived while a login was still being decided. */
  LoginPending = 'login-pending',
  /** A `part` or `broadcast` for a room the peer is not in. */
  NotInRoom = 'not-in-room',
  /**
   * The host's `authorizeRelay` refused this relay to `target` (with
   * `relayRefusal: 'not-found'` the hub answers `peer-not-found` instead, so a
   * sender cannot tell a forbidden name from an absent one).
   */
  Forbidden = 'forbidden',
}

/** `reason` of a failed login (`{"type":"login","success":false}`). */
export enum LoginFailure {
  /** Another connection holds the name (on any node of the cluster). */
  NameTaken = 'name-taken',
  /** The name breaks the name rules (empty, too long, control characters, custom rule). */
  InvalidName = 'invalid-name',
  /** The `authenticate` hook refused the login. */
  Unauthorized = 'unauthorized',
  /** This connection already holds another name; a connection holds at most one. */
  AlreadyLoggedIn = 'already-logged-in',
  /** The cluster backplane is unreachable, so the name cannot be claimed cluster-wide. */
  BackplaneUnavailable = 'backplane-unavailable',
  /** The hub is shutting down. */
  HubClosing = 'hub-closing',
}
