/**
 * The HTTP fallback's wire contract (PROTOCOL.md, "HTTP fallback"), written
 * once: the server (`transports/http/`) and the client (`HttpSocket`) both
 * follow it. No runtime imports: the client bundles it for browsers.
 */

/** The query parameter, and its value, that make a request to the hub's path the fallback's: `?transport=http`. */
export const TRANSPORT_PARAM = 'transport';
/** See {@link TRANSPORT_PARAM}. */
export const TRANSPORT_HTTP = 'http';

// Primitive constants (and an enum), not objects: bundlers inline them, and the client stays small.

/** Query parameters of a session's requests. */
export enum HttpParam {
  /** The session's id: every request but the POST that opens it. */
  session = 'session',
  /** POST of frames: the batch's number, 1, 2, 3… per session (none: a ping). */
  seq = 'seq',
  /** Any request: the id of the last event received ("I have every event up to it"). */
  ack = 'ack',
  /** GET: {@link POLL_ON} for a long-poll (none: a Server-Sent Events stream). */
  poll = 'poll',
  /** DELETE: the close code of the goodbye (none: {@link NO_STATUS_CODE}). */
  code = 'code',
  /** GET: {@link PROBE_ON} asks whether a connection would be admitted (see {@link PROBE_ON}). */
  probe = 'probe',
}

/**
 * The value of {@link HttpParam.probe} that makes `GET <path>?…&transport=http&probe=1`
 * a handshake probe: the hub runs the admission of a new connection (not
 * accepting, `origins`, per-address caps, `verifyUpgrade`) on it and answers
 * {@link STATUS_ADMITTED}, or the refusal's status with the usual JSON error
 * body. A browser's WebSocket cannot see why its upgrade failed (it only
 * sees 1006): the client asks this way, with the same query and credentials.
 */
export const PROBE_ON = '1';

/** The value of {@link HttpParam.poll} that asks for a long-poll. */
export const POLL_ON = '1';

/** The header every request of a session presents its secret in (never the URL, which logs keep). */
export const SECRET_HEADER = 'x-signalling-secret';
/** A stream's standard header that may stand for `ack`. */
export const LAST_EVENT_ID_HEADER = 'last-event-id';

/** Content types of a stream, a long-poll's answer and a POST of frames. */
export const EVENT_STREAM_TYPE = 'text/event-stream';
export const JSON_TYPE = 'application/json';
export const FRAMES_TYPE = 'text/plain;charset=UTF-8';

/** The reply (201, JSON) to the POST that opens a session. */
export interface SessionOpened {
  /** The session's id (not a credential). */
  readonly session: string;
  /** The session's secret, for {@link SECRET_HEADER}. */
  readonly secret: string;
  /** Milliseconds between heartbeat comments on a stream (0: none). */
  readonly heartbeat: number;
  /** Milliseconds without a request after which the session is lost. */
  readonly timeout: number;
  /** Milliseconds a long-poll waits before it is answered empty. */
  readonly pollTimeout: number;
  /** Bytes a POST body may hold at most. */
  readonly maxBodyBytes: number;
}

/** `value` as a {@link SessionOpened} when it is one: a client takes nothing else from a server. */
export function sessionOpenedOf(value: unknown): SessionOpened | undefined {
  const info = value as Partial<SessionOpened> | null;
  if (typeof info !== 'object' || info === null) return undefined;
  const { session, secret, heartbeat, timeout, pollTimeout, maxBodyBytes } = info;
  if (typeof session !== 'string' || typeof secret !== 'string') return undefined;
  const numbers = [heartbeat, timeout, pollTimeout, maxBodyBytes];
  if (numbers.some((n) => typeof n !== 'number' || !Number.isFinite(n) || n < 0)) return undefined;
  return info as SessionOpened;
}

// Event names on a stream (and `event` of a long-poll's entries).

/** The first event of a stream (no id), data `{"heartbeat":H}`: the way is clear. */
export const EVENT_OPEN = 'open';
/** A frame: the default event type (a frame's event has no `event:` line). */
export const EVENT_MESSAGE = 'message';
/** The session closed: the last event, data `{"code":C,"reason":R}` ({@link CloseInfo}). */
export const EVENT_CLOSE = 'close';

/** Data of the close event, and what a 410 adds to its body. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** The close code the hub hears for a `DELETE` without one: as from a WebSocket close frame without a status. */
export const NO_STATUS_CODE = 1005;
/** A session lost without a goodbye (the client stopped making requests, or events were lost). */
export const LOST_CODE = 1006;
/** A page going away: the goodbye `HttpSocket` sends with `keepalive` when its page is hidden for good. */
export const GOING_AWAY_CODE = 1001;

/** Whether a client may say goodbye (`DELETE`) with `code`: 1000, 1001, or 3000–4999. */
export function isGoodbyeCode(code: number): boolean {
  return code === 1000 || code === GOING_AWAY_CODE || (Number.isInteger(code) && code >= 3000 && code <= 4999);
}

// HTTP statuses with a meaning in the contract. A session's request answered 404, 403 or 401 will
// never succeed; a 410 names the close code ({@link CloseInfo}) in its body.

/** The session was opened: a {@link SessionOpened} body. */
export const STATUS_CREATED = 201;
/** POST: the frames were handed to the hub (or already were). */
export const STATUS_DELIVERED = 204;
/** POST: held until the POSTs before it arrive. */
export const STATUS_HELD = 202;
/** A bad request; for a body that is not UTF-8 text the session closes (1007). */
export const STATUS_BAD_REQUEST = 400;
/** The host's `verifyUpgrade` refused the request that opens a session. */
export const STATUS_UNAUTHORIZED = 401;
/** A wrong or missing secret, or a refused origin. */
export const STATUS_FORBIDDEN = 403;
/** No such session (it ended or expired). */
export const STATUS_SESSION_GONE = 404;
/** The session is closed; the body names the code. */
export const STATUS_CLOSED = 410;
/** The body is over `maxBodyBytes`: the session closes (1009). */
export const STATUS_TOO_LARGE = 413;

/** Probe: a connection would be admitted (so a failed upgrade failed for another reason, e.g. a proxy). */
export const STATUS_ADMITTED = 204;

/**
 * Why a handshake (a WebSocket upgrade, the POST that opens a session, a
 * probe) was refused, by its HTTP status: `unauthorized` (401,
 * `verifyUpgrade`), `forbidden` (403, `origins`), `too-many-requests` (429,
 * per-address caps), `unavailable` (503, the hub not accepting). Other
 * statuses say nothing about admission.
 */
export type HandshakeRefusal = 'unauthorized' | 'forbidden' | 'too-many-requests' | 'unavailable';

/** The {@link HandshakeRefusal} an HTTP `status` stands for, if any. */
export function refusalOf(status: number | undefined): HandshakeRefusal | undefined {
  return status === 401
    ? 'unauthorized'
    : status === 403
      ? 'forbidden'
      : status === 429
        ? 'too-many-requests'
        : status === 503
          ? 'unavailable'
          : undefined;
}

/** The `readyState` values of a WebSocket, which `HttpSocket` follows too. */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
