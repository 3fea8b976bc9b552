import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AdapterPort } from '../../core/adapter-port.js';
import { BackplaneError, HookError } from '../../core/errors.js';
import { HttpSession, type HttpSessionContext, STREAM_HEADERS } from './http-session.js';
import type { ResolvedHttpFallbackOptions } from './options.js';
import { addRequestRoute, type RequestServer } from './request-dispatcher.js';
import { newSecret, newSessionId, nodeOfSession, SECRET_HEADER, secretMatches, SESSION_ID_PATTERN } from './session-id.js';

/** What the fallback takes from `attach()`. */
export interface HttpFallbackContext {
  readonly host: AdapterPort;
  readonly path: string;
  readonly options: ResolvedHttpFallbackOptions;
  /** attach()'s `heartbeatInterval`: comment heartbeats on streams (0: none). */
  readonly heartbeatInterval: number;
  /** attach()'s `maxPayload` (or the hub's `maxMessageBytes`). */
  readonly maxPayload: number;
  /** attach()'s `closeTimeout`: how long `close()` waits for clients to fetch their close event. */
  readonly closeTimeout: number;
  /** attach()'s origin check; throws when an `origins` function throws. */
  originAllowed(request: IncomingMessage): boolean;
  /** Whether `origins` names the allowed origins (then they may send credentials cross-origin). */
  readonly explicitOrigins: boolean;
  readonly verifyUpgrade: ((request: IncomingMessage) => boolean | Promise<boolean>) | undefined;
}

/** The fallback of one attachment. */
export interface HttpFallback {
  /** Sessions open on this path. */
  readonly sessions: number;
  /** Refuses new sessions, closes the open ones with 1001, and stops serving the path. */
  close(): Promise<void>;
}

/** Error answers: `{"error":…,"message":…}` with the status. */
function reply(
  response: ServerResponse,
  status: number,
  error: string,
  message: string,
  extra: Readonly<Record<string, unknown>> = {},
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.headersSent || response.writableEnded) return;
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify({ error, message, ...extra }));
}

function noContent(response: ServerResponse, status: 202 | 204): void {
  if (response.headersSent || response.writableEnded) return;
  response.writeHead(status, { 'cache-control': 'no-store' });
  response.end();
}

/** A decimal whole number in [min, 2^53 − 1], or `undefined`. */
function wholeNumber(text: string, min: number): number | undefined {
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= Number.MAX_SAFE_INTEGER ? value : undefined;
}

/** A request body up to `limit` bytes; `too-large` past it, `aborted` when the client went away. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: Buffer | 'too-large' | 'aborted') => {
      if (done) return;
      done = true;
      request.removeListener('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // The rest is read and discarded; the answer closes the connection.
        request.resume();
        finish('too-large');
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => finish(Buffer.concat(chunks, size)));
    request.once('close', () => finish('aborted'));
    request.once('error', () => finish('aborted'));
  });
}

/** A lone surrogate: JSON strings can carry one, UTF-8 (and so a WebSocket text frame) cannot. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The frames of a POST body: a JSON array of strings (an empty body: none); `undefined` when it is not that. */
function framesOf(text: string): string[] | undefined {
  if (text.length === 0) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || !value.every((frame) => typeof frame === 'string')) return undefined;
  return value;
}

function ignore(): void {
  // A response whose client went away: nothing to do.
}

/** Milliseconds a forwarded request may take beyond a poll's own wait. */
const FORWARD_TIMEOUT = 5000;

/** A request forwarded to the node that holds its session (JSON through the backplane). */
interface ForwardedRequest {
  /** Method. */
  readonly m: 'GET' | 'POST' | 'DELETE';
  /** The query string (`session`, `seq`, `ack`, `poll`, `code`…). */
  readonly q: string;
  /** The secret header, if any. */
  readonly s: string | null;
  /** The `Last-Event-ID` header, if any. */
  readonly e: string | null;
  /** The body, base64 (its bytes as received: the owner checks them). */
  readonly b: string | null;
  /** The body was over `maxBodyBytes` (not sent). */
  readonly big: boolean;
}

/** The owner's answer: status (0: the connection is to be dropped), headers and body. */
interface ForwardedAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const nullableString = (value: unknown): value is string | null => value === null || typeof value === 'string';

function forwardedRequestOf(text: string): ForwardedRequest | undefined {
  const value = parse(text);
  if (!isObject(value)) return undefined;
  const { m, q, s, e, b, big } = value;
  if (m !== 'GET' && m !== 'POST' && m !== 'DELETE') return undefined;
  if (typeof q !== 'string' || !nullableString(s) || !nullableString(e) || !nullableString(b) || typeof big !== 'boolean') {
    return undefined;
  }
  if (b !== null && !/^[A-Za-z0-9+/]*={0,2}$/.test(b)) return undefined;
  return { m, q, s, e, b, big };
}

function answerOf(text: string): ForwardedAnswer | undefined {
  const value = parse(text);
  if (!isObject(value)) return undefined;
  const { status, headers, body } = value;
  if (typeof status !== 'number' || !Number.isInteger(status) || (status !== 0 && (status < 200 || status > 599)))
    return undefined;
  if (typeof body !== 'string' || !isObject(headers)) return undefined;
  const clean: Record<string, string> = {};
  for (const [name, header] of Object.entries(headers)) {
    // Only plain header names and values: nothing from another node may split a response.
    if (typeof header !== 'string' || !/^[a-z0-9-]{1,64}$/.test(name) || !/^[\x20-\x7e]{0,1024}$/.test(header)) return undefined;
    clean[name] = header;
  }
  return { status, headers: clean, body };
}

/**
 * The part of a `ServerResponse` the fallback uses, recording the answer to
 * a forwarded request instead of writing it to a socket.
 */
class CapturedResponse extends EventEmitter {
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  writable = true;
  readonly writableLength = 0;
  readonly answer: Promise<ForwardedAnswer>;
  private status = 200;
  private readonly headers: Record<string, string> = {};
  private text = '';
  private settle!: (answer: ForwardedAnswer) => void;

  constructor() {
    super();
    this.answer = new Promise((resolve) => (this.settle = resolve));
  }

  setHeader(name: string, value: string | number): this {
    this.headers[name.toLowerCase()] = String(value);
    return this;
  }

  writeHead(status: number, headers: Readonly<Record<string, string>> = {}): this {
    this.status = status;
    for (const [name, value] of Object.entries(headers)) this.setHeader(name, value);
    this.headersSent = true;
    return this;
  }

  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }

  end(chunk?: string | Uint8Array): this {
    if (this.writableEnded || this.destroyed) return this;
    if (chunk !== undefined) this.write(chunk);
    this.headersSent = true;
    this.writableEnded = true;
    this.writable = false;
    this.settle({ status: this.status, headers: this.headers, body: this.text });
    queueMicrotask(() => this.emit('close'));
    return this;
  }

  destroy(): this {
    if (this.writableEnded || this.destroyed) return this;
    this.destroyed = true;
    this.writable = false;
    this.settle({ status: 0, headers: {}, body: '' });
    queueMicrotask(() => this.emit('close'));
    return this;
  }
}

/**
 * Serves the HTTP fallback of `context.hub` on `context.path` of `server`
 * (see PROTOCOL.md, "HTTP fallback"): requests to the path whose query has
 * `transport=http`. Every other request reaches the host's listeners.
 */
export function serveHttpFallback(server: RequestServer, context: HttpFallbackContext): HttpFallback {
  const { host, options, heartbeatInterval } = context;
  const maxBodyBytes = options.maxBodyBytes ?? 2 * context.maxPayload + 4096;
  const maxHeldBytes = maxBodyBytes * options.reorderWindow;
  const sessions = new Map<string, HttpSession>();
  let closing = false;

  const sessionContext: HttpSessionContext = {
    heartbeatInterval,
    pollTimeout: options.pollTimeout,
    retainBytes: host.options.maxBufferedBytes,
    forget: (session) => {
      if (sessions.get(session.id) === session) sessions.delete(session.id);
    },
  };

  const cors = (request: IncomingMessage, response: ServerResponse) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    response.setHeader('access-control-allow-origin', origin);
    response.setHeader('vary', 'Origin');
    if (context.explicitOrigins) response.setHeader('access-control-allow-credentials', 'true');
  };

  const unavailable = (response: ServerResponse, message: string) =>
    reply(response, 503, 'unavailable', message, {}, { 'retry-after': '5' });

  /** Whether a new session may be created now; answers 503 when not. */
  const mayCreate = (response: ServerResponse): boolean => {
    if (closing || !host.accepting) {
      unavailable(response, 'The server is shutting down: try again (another node may take it)');
      return false;
    }
    if (sessions.size >= options.maxSessions) {
      unavailable(response, 'Too many sessions on this server: try again later');
      return false;
    }
    return true;
  };

  const create = async (request: IncomingMessage, response: ServerResponse) => {
    if (!mayCreate(response)) return;
    const verifyUpgrade = context.verifyUpgrade;
    if (verifyUpgrade !== undefined) {
      let ok: boolean;
      try {
        ok = await verifyUpgrade(request);
      } catch (error) {
        host.reportError(new HookError('verifyUpgrade', error));
        return reply(response, 500, 'internal-error', 'The server could not decide on this request');
      }
      if (ok !== true) return reply(response, 401, 'unauthorized', 'The server refused this request');
      if (response.destroyed || !mayCreate(response)) return;
    }
    const session = new HttpSession(newSessionId(host.nodeId), Buffer.from(newSecret()), sessionContext);
    sessions.set(session.id, session);
    session.session = host.open(session, { request, remoteAddress: request.socket.remoteAddress });
    if (!session.open) {
      sessions.delete(session.id);
      return unavailable(response, 'The server is shutting down');
    }
    response.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(
      JSON.stringify({
        session: session.id,
        secret: session.secret.toString(),
        heartbeat: heartbeatInterval,
        timeout: options.sessionTimeout,
        pollTimeout: options.pollTimeout,
        maxBodyBytes,
      }),
    );
  };

  const receive = async (session: HttpSession, seq: number | undefined, request: IncomingMessage, response: ServerResponse) => {
    const closed = () => reply(response, 410, 'session-closed', 'The session is closed', { ...session.closeInfo });
    if (!session.open) return closed();
    const declared = wholeNumber(request.headers['content-length'] ?? '', 0);
    const body = declared !== undefined && declared > maxBodyBytes ? 'too-large' : await readBody(request, maxBodyBytes);
    if (body === 'aborted') return;
    if (body === 'too-large') {
      session.closeByAdapter(1009, 'message too big');
      return reply(
        response,
        413,
        'body-too-large',
        `A request body may hold at most ${maxBodyBytes} bytes`,
        {},
        { connection: 'close' },
      );
    }
    if (!session.open) return closed();
    if (!isUtf8(body)) {
      session.closeByAdapter(1007, 'invalid UTF-8');
      return reply(response, 400, 'invalid-utf8', 'The body is not valid UTF-8');
    }
    const frames = framesOf(body.toString());
    if (frames === undefined) return reply(response, 400, 'bad-request', 'The body must be a JSON array of strings (the frames)');
    if (frames.some((frame) => LONE_SURROGATE.test(frame))) {
      session.closeByAdapter(1007, 'invalid UTF-8');
      return reply(response, 400, 'invalid-utf8', 'A frame holds a lone surrogate: frames must be valid Unicode text');
    }
    if (seq === undefined) {
      if (frames.length > 0) return reply(response, 400, 'bad-request', 'Frames need a "seq" query parameter');
      // A ping: the client is there.
      return noContent(response, 204);
    }
    switch (session.post(seq, frames, body.length, options.reorderWindow, maxHeldBytes)) {
      case 'delivered':
      case 'duplicate':
        return noContent(response, 204);
      case 'held':
        return noContent(response, 202);
      case 'out-of-window':
        return reply(
          response,
          409,
          'out-of-window',
          `seq ${seq} is too far ahead of ${session.expectedSeq}: send the earlier ones first`,
        );
    }
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    response.on('error', ignore);
    let allowed: boolean;
    try {
      allowed = context.originAllowed(request);
    } catch (error) {
      host.reportError(new HookError('origins', error));
      return reply(response, 500, 'internal-error', 'The server could not decide on this request');
    }
    if (!allowed) return reply(response, 403, 'origin-not-allowed', 'This origin may not connect');
    cors(request, response);
    const method = request.method;
    if (method === 'OPTIONS') {
      response.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, DELETE',
        'access-control-allow-headers': `${SECRET_HEADER}, content-type, last-event-id`,
        'access-control-max-age': '600',
        'cache-control': 'no-store',
      });
      response.end();
      return;
    }
    const url = request.url ?? '';
    const params = new URLSearchParams(url.slice(url.indexOf('?') + 1));
    const id = params.get('session');
    if (id === null) {
      if (method === 'POST') {
        create(request, response).catch((error: unknown) => {
          host.reportError(error);
          reply(response, 500, 'internal-error', 'Internal error');
        });
        return;
      }
      return reply(response, 400, 'bad-request', 'POST without "session" creates a session; other requests name theirs');
    }
    serveSession(request, response, id, params, false);
  };

  /**
   * A request that names session `id`: served here when the session is
   * here; forwarded through the backplane to the node whose id the session
   * id carries when it is there (`forwarded`: it came from another node so).
   */
  const serveSession = (
    request: IncomingMessage,
    response: ServerResponse,
    id: string,
    params: URLSearchParams,
    forwarded: boolean,
  ) => {
    const method = request.method;
    const session = SESSION_ID_PATTERN.test(id) ? sessions.get(id) : undefined;
    if (session === undefined) {
      const owner = forwarded ? undefined : remoteOwner(id);
      if (owner !== undefined && (method === 'GET' || method === 'POST' || method === 'DELETE')) {
        forward(owner, request, response, params).catch((error: unknown) => {
          host.reportError(error);
          reply(response, 500, 'internal-error', 'Internal error');
        });
        return;
      }
      return reply(response, 404, 'session-not-found', 'No such session here (it ended or expired)');
    }
    if (!secretMatches(session.secret, request.headers[SECRET_HEADER])) {
      return reply(response, 403, 'forbidden', `The ${SECRET_HEADER} header does not match the session's secret`);
    }
    const ackText = params.get('ack') ?? request.headers['last-event-id'];
    const ack = typeof ackText === 'string' ? wholeNumber(ackText, 0) : undefined;
    if (typeof ackText === 'string' && ack === undefined) return reply(response, 400, 'bad-request', '"ack" must be an event id');
    const seqText = params.get('seq');
    const seq = seqText === null ? undefined : wholeNumber(seqText, 1);
    if (seqText !== null && seq === undefined) return reply(response, 400, 'bad-request', '"seq" must be a whole number ≥ 1');
    session.lastSeen = Date.now();
    switch (method) {
      case 'GET': {
        if (ack !== undefined && !session.resumeFrom(ack)) {
          session.lost();
          return reply(response, 410, 'session-closed', 'Events after the acknowledged one are no longer held', {
            code: 1006,
            reason: 'events lost',
          });
        }
        if (session.closeAcked) {
          sessionContext.forget(session);
          return reply(response, 410, 'session-closed', 'The session is closed', { ...session.closeInfo });
        }
        if (params.get('poll') === '1') session.attachPoll(response);
        else if (forwarded) reply(response, 400, 'bad-request', 'Streams are not forwarded between nodes');
        else {
          request.socket.setNoDelay(true);
          session.attachStream(response);
        }
        return;
      }
      case 'POST':
        if (ack !== undefined) session.ack(ack);
        receive(session, seq, request, response).catch((error: unknown) => {
          host.reportError(error);
          reply(response, 500, 'internal-error', 'Internal error');
        });
        return;
      case 'DELETE': {
        const codeText = params.get('code');
        // No code: as a close frame without a status code, the hub hears 1005.
        const code = codeText === null ? 1005 : wholeNumber(codeText, 1000);
        // 1001: a closing page's goodbye (a browser's WebSocket says the same).
        if (code === undefined || (codeText !== null && code !== 1000 && code !== 1001 && (code < 3000 || code > 4999))) {
          return reply(response, 400, 'bad-request', '"code" must be 1000, 1001 or from 3000 to 4999');
        }
        session.goodbye(code);
        return noContent(response, 204);
      }
      default:
        return reply(
          response,
          405,
          'method-not-allowed',
          'Use GET, POST, DELETE or OPTIONS',
          {},
          { allow: 'GET, POST, DELETE, OPTIONS' },
        );
    }
  };

  /** The other node that holds session `id`, when it can be reached through the backplane. */
  const remoteOwner = (id: string): string | undefined => {
    if (host.sendToNode === undefined || host.nodeId === undefined || !SESSION_ID_PATTERN.test(id)) return undefined;
    const node = nodeOfSession(id);
    return node === undefined || node === host.nodeId || node.length === 0 ? undefined : node;
  };

  /**
   * Forwards a request for a session held on `owner` (see PROTOCOL.md, "HTTP
   * fallback", "Clusters"): the owner runs it as its own and its answer is
   * this response. A stream cannot cross nodes: it is answered at once with
   * an empty event stream (no `open` event), which a client that probes its
   * stream takes for a buffering proxy and long-polls instead.
   */
  const forward = async (owner: string, request: IncomingMessage, response: ServerResponse, params: URLSearchParams) => {
    const method = request.method as 'GET' | 'POST' | 'DELETE';
    const poll = params.get('poll') === '1';
    if (method === 'GET' && !poll) {
      response.writeHead(200, STREAM_HEADERS);
      response.end();
      return;
    }
    let body: Buffer | undefined;
    let tooLarge = false;
    if (method === 'POST') {
      const declared = wholeNumber(request.headers['content-length'] ?? '', 0);
      const read = declared !== undefined && declared > maxBodyBytes ? 'too-large' : await readBody(request, maxBodyBytes);
      if (read === 'aborted') return;
      if (read === 'too-large') tooLarge = true;
      else body = read;
    }
    const secret = request.headers[SECRET_HEADER];
    const lastEventId = request.headers['last-event-id'];
    const message: ForwardedRequest = {
      m: method,
      q: params.toString(),
      s: typeof secret === 'string' ? secret : null,
      e: typeof lastEventId === 'string' ? lastEventId : null,
      b: body === undefined || body.length === 0 ? null : body.toString('base64'),
      big: tooLarge,
    };
    const timeoutMs = (method === 'GET' ? options.pollTimeout : 0) + FORWARD_TIMEOUT;
    const answer = await host.sendToNode!(owner, nodeChannel, JSON.stringify(message), { timeoutMs });
    if (response.destroyed || response.writableEnded) return;
    if (!answer.delivered) {
      if (answer.reason === 'not-found') return reply(response, 404, 'session-not-found', 'No such session (its node is gone)');
      return unavailable(response, "The session's node cannot be reached now: try again");
    }
    const forwardedAnswer = answer.reply === undefined ? undefined : answerOf(answer.reply);
    if (forwardedAnswer === undefined) {
      if (answer.reply !== undefined)
        host.reportError(new BackplaneError(`Ignored a malformed answer from node ${owner} to a forwarded HTTP request`));
      return reply(response, 404, 'session-not-found', 'No such session here (it ended or expired)');
    }
    if (forwardedAnswer.status === 0) {
      response.destroy();
      return;
    }
    response.writeHead(forwardedAnswer.status, forwardedAnswer.headers);
    response.end(forwardedAnswer.body);
  };

  /** Runs a request another node forwarded as if it had come here; its answer goes back. */
  const answerForwarded = async (fromNode: string, payload: string): Promise<string | undefined> => {
    const message = forwardedRequestOf(payload);
    if (message === undefined) {
      host.reportError(new BackplaneError(`Ignored a malformed forwarded HTTP request from node ${fromNode}`));
      return undefined;
    }
    const body = message.b === null ? Buffer.alloc(0) : Buffer.from(message.b, 'base64');
    const headers: Record<string, string> = {
      'content-length': String(message.big ? maxBodyBytes + 1 : body.length),
    };
    if (message.s !== null) headers[SECRET_HEADER] = message.s;
    if (message.e !== null) headers['last-event-id'] = message.e;
    const request = Object.assign(Readable.from(body.length > 0 ? [body] : []), {
      method: message.m,
      url: `${context.path}?${message.q}`,
      headers,
      socket: { remoteAddress: undefined, setNoDelay: ignore },
    }) as unknown as IncomingMessage;
    const response = new CapturedResponse();
    const params = new URLSearchParams(message.q);
    const id = params.get('session');
    if (id === null) reply(response as unknown as ServerResponse, 400, 'bad-request', 'A forwarded request names its session');
    else serveSession(request, response as unknown as ServerResponse, id, params, true);
    return JSON.stringify(await response.answer);
  };

  const nodeChannel = `http-fallback:${encodeURIComponent(context.path)}`;
  const stopNodeMessages = host.handleNodeMessages(nodeChannel, answerForwarded);
  const removeRoute = addRequestRoute(server, context.path, handle);

  // Sessions whose client stopped making requests are lost (the hub sees 1006); closed ones are forgotten.
  const sweepEvery = Math.max(25, Math.min(1000, Math.floor(options.sessionTimeout / 4)));
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const session of [...sessions.values()]) {
      if (session.polling || now - session.lastSeen <= options.sessionTimeout) continue;
      if (session.open) session.lost();
      else {
        session.endReader();
        sessionContext.forget(session);
      }
    }
  }, sweepEvery);
  sweep.unref();
  const heartbeat =
    heartbeatInterval > 0
      ? setInterval(() => {
          for (const session of sessions.values()) session.heartbeat();
        }, heartbeatInterval)
      : undefined;
  heartbeat?.unref();

  return {
    get sessions() {
      let open = 0;
      for (const session of sessions.values()) if (session.open) open++;
      return open;
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const session of sessions.values()) session.closeByAdapter(1001, 'server going away');
      // Clients with a reader have their close event; the others get closeTimeout to come for it.
      const deadline = Date.now() + context.closeTimeout;
      while (Date.now() < deadline && [...sessions.values()].some((session) => !session.closeSent)) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, context.closeTimeout)));
      }
      removeRoute();
      stopNodeMessages();
      clearInterval(sweep);
      if (heartbeat !== undefined) clearInterval(heartbeat);
      for (const session of sessions.values()) session.endReader();
      sessions.clear();
    },
  };
}
