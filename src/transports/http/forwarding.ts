import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AdapterPort } from '../../core/adapter-port.js';
import { BackplaneError } from '../../core/errors.js';
import { STREAM_HEADERS } from './downlink.js';
import { reply, unavailable } from './reply.js';
import { readBody } from './request-body.js';
import { nodeOfSession, SESSION_ID_PATTERN } from './session-id.js';
import { HttpParam, LAST_EVENT_ID_HEADER, POLL_ON, SECRET_HEADER } from '../../protocol/http-wire.js';

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

function ignore(): void {
  // A forwarded request has no socket to tune.
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

/** Serves a request for a session held here (`forwarded`: it came from another node). */
export type SessionServer = (
  request: IncomingMessage,
  response: ServerResponse,
  id: string,
  params: URLSearchParams,
  forwarded: boolean,
) => void;

/** Cross-node forwarding of one attachment's requests. */
export interface Forwarding {
  /** The other node that holds session `id`, when it can be reached through the backplane. */
  ownerOf(id: string): string | undefined;
  /** Forwards a request for a session held on `owner`; its answer is this response. */
  forward(owner: string, request: IncomingMessage, response: ServerResponse, params: URLSearchParams): Promise<void>;
  /** Stops answering other nodes' requests. */
  stop(): void;
}

/**
 * Forwarding of HTTP fallback requests between nodes (see PROTOCOL.md, "HTTP
 * fallback", "Clusters"), through the port's `sendToNode` and
 * `handleNodeMessages`: a session id names its node, and a request that
 * reaches another node is run by the owner as its own (`serve`), its answer
 * sent back. A stream cannot cross nodes: it is answered at once with an
 * empty event stream (no `open` event), which a client that probes its
 * stream takes for a buffering proxy and long-polls instead.
 */
export function startForwarding(
  port: AdapterPort,
  settings: { readonly path: string; readonly maxBodyBytes: number; readonly pollTimeout: number },
  serve: SessionServer,
): Forwarding {
  const { path, maxBodyBytes, pollTimeout } = settings;
  const channel = `http-fallback:${encodeURIComponent(path)}`;

  const ownerOf = (id: string): string | undefined => {
    if (port.sendToNode === undefined || port.nodeId === undefined || !SESSION_ID_PATTERN.test(id)) return undefined;
    const node = nodeOfSession(id);
    return node === undefined || node === port.nodeId || node.length === 0 ? undefined : node;
  };

  const forward = async (owner: string, request: IncomingMessage, response: ServerResponse, params: URLSearchParams) => {
    const method = request.method as 'GET' | 'POST' | 'DELETE';
    if (method === 'GET' && params.get(HttpParam.poll) !== POLL_ON) {
      response.writeHead(200, STREAM_HEADERS);
      response.end();
      return;
    }
    let body: Buffer | undefined;
    let tooLarge = false;
    if (method === 'POST') {
      const read = await readBody(request, maxBodyBytes);
      if (read === 'aborted') return;
      if (read === 'too-large') tooLarge = true;
      else body = read;
    }
    const secret = request.headers[SECRET_HEADER];
    const lastEventId = request.headers[LAST_EVENT_ID_HEADER];
    const message: ForwardedRequest = {
      m: method,
      q: params.toString(),
      s: typeof secret === 'string' ? secret : null,
      e: typeof lastEventId === 'string' ? lastEventId : null,
      b: body === undefined || body.length === 0 ? null : body.toString('base64'),
      big: tooLarge,
    };
    const timeoutMs = (method === 'GET' ? pollTimeout : 0) + FORWARD_TIMEOUT;
    const answer = await port.sendToNode!(owner, channel, JSON.stringify(message), { timeoutMs });
    if (response.destroyed || response.writableEnded) return;
    if (!answer.delivered) {
      if (answer.reason === 'not-found') return reply(response, 404, 'session-not-found', 'No such session (its node is gone)');
      return unavailable(response, "The session's node cannot be reached now: try again");
    }
    const forwardedAnswer = answer.reply === undefined ? undefined : answerOf(answer.reply);
    if (forwardedAnswer === undefined) {
      if (answer.reply !== undefined)
        port.reportError(new BackplaneError(`Ignored a malformed answer from node ${owner} to a forwarded HTTP request`));
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
      port.reportError(new BackplaneError(`Ignored a malformed forwarded HTTP request from node ${fromNode}`));
      return undefined;
    }
    const body = message.b === null ? Buffer.alloc(0) : Buffer.from(message.b, 'base64');
    const headers: Record<string, string> = {
      'content-length': String(message.big ? maxBodyBytes + 1 : body.length),
    };
    if (message.s !== null) headers[SECRET_HEADER] = message.s;
    if (message.e !== null) headers[LAST_EVENT_ID_HEADER] = message.e;
    const request = Object.assign(Readable.from(body.length > 0 ? [body] : []), {
      method: message.m,
      url: `${path}?${message.q}`,
      headers,
      socket: { remoteAddress: undefined, setNoDelay: ignore },
    }) as unknown as IncomingMessage;
    const response = new CapturedResponse();
    const params = new URLSearchParams(message.q);
    const id = params.get(HttpParam.session);
    if (id === null) reply(response as unknown as ServerResponse, 400, 'bad-request', 'A forwarded request names its session');
    else serve(request, response as unknown as ServerResponse, id, params, true);
    return JSON.stringify(await response.answer);
  };

  const stop = port.handleNodeMessages(channel, answerForwarded);
  return { ownerOf, forward, stop };
}
