import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdapterPort } from '../../core/adapter-port.js';
import { type AdmissionPolicy, capVerdict, originVerdict, type Verdict, verify } from '../shared/admission.js';
import type { Forwarding, SessionServer } from './forwarding.js';
import { HttpSession, type HttpSessionContext } from './http-session.js';
import { type PostLimits, receivePost } from './post-request.js';
import { answerProbe } from './probe.js';
import { internalError, noContent, reply, unavailable } from './reply.js';
import { wholeNumber } from './request-body.js';
import { newSecret, newSessionId, secretMatches, SESSION_ID_PATTERN } from './session-id.js';
import type { SessionTable } from './session-table.js';
import {
  HttpParam,
  isGoodbyeCode,
  LAST_EVENT_ID_HEADER,
  LOST_CODE,
  NO_STATUS_CODE,
  POLL_ON,
  PROBE_ON,
  SECRET_HEADER,
  type SessionOpened,
} from '../../protocol/http-wire.js';

/** What the routes of one attachment need. */
export interface RoutingContext {
  readonly port: AdapterPort;
  readonly policy: AdmissionPolicy<IncomingMessage>;
  readonly table: SessionTable;
  readonly sessionContext: HttpSessionContext;
  readonly limits: PostLimits;
  /** Told to the client when its session is created. */
  readonly heartbeatInterval: number;
  readonly sessionTimeout: number;
  readonly pollTimeout: number;
  /** Whether the attachment takes new sessions (not closing, the hub accepting). */
  readonly accepting: () => boolean;
  /** Set once the forwarding is built (it serves forwarded requests through these routes). */
  forwarding: Forwarding | undefined;
}

function ignore(): void {
  // A response whose client went away: nothing to do.
}

/** The request routes of one attachment's fallback: `handle` takes every request of the path with `transport=http`. */
export interface Routes {
  readonly handle: (request: IncomingMessage, response: ServerResponse) => void;
  /** A request that names session `id` (`forwarded`: another node sent it here). */
  readonly serveSession: SessionServer;
}

export function routes(context: RoutingContext): Routes {
  const { port, policy, table } = context;
  const explicitOrigins = policy.origins !== undefined;

  const cors = (request: IncomingMessage, response: ServerResponse) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    response.setHeader('access-control-allow-origin', origin);
    response.setHeader('vary', 'Origin');
    if (explicitOrigins) response.setHeader('access-control-allow-credentials', 'true');
  };

  /** Whether a new session may be created now; answers 503 when not. */
  const mayCreate = (response: ServerResponse): boolean => {
    if (!context.accepting()) {
      unavailable(response, 'The server is shutting down: try again (another node may take it)');
      return false;
    }
    if (!table.hasRoom) {
      unavailable(response, 'Too many sessions on this server: try again later');
      return false;
    }
    return true;
  };

  const create = (request: IncomingMessage, response: ServerResponse) => {
    if (!mayCreate(response)) return;
    if (capVerdict(port, policy, request) !== undefined) {
      return reply(
        response,
        429,
        'too-many-connections',
        'Too many connections from this address: try again later',
        {},
        {
          'retry-after': '1',
        },
      );
    }
    verify(port, policy, request, context.accepting, (verdict) => {
      try {
        open(verdict, request, response);
      } catch (error) {
        port.reportError(error);
        internalError(response);
      }
    });
  };

  const open = (verdict: Verdict, request: IncomingMessage, response: ServerResponse) => {
    if (verdict === 500) return reply(response, 500, 'internal-error', 'The server could not decide on this request');
    if (verdict === 401) return reply(response, 401, 'unauthorized', 'The server refused this request');
    if (response.destroyed || !mayCreate(response)) return;
    const socket = request.socket;
    const session = new HttpSession(
      newSessionId(port.nodeId),
      Buffer.from(newSecret()),
      context.sessionContext,
      socket,
      socket.remoteAddress ?? '',
    );
    table.add(session);
    session.session = port.open(session, { request, remoteAddress: socket.remoteAddress });
    if (!session.open) {
      table.forget(session);
      return unavailable(response, 'The server is shutting down');
    }
    response.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(
      JSON.stringify({
        session: session.id,
        secret: session.secret.toString(),
        heartbeat: context.heartbeatInterval,
        timeout: context.sessionTimeout,
        pollTimeout: context.pollTimeout,
        maxBodyBytes: context.limits.maxBodyBytes,
      } satisfies SessionOpened),
    );
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    response.on('error', ignore);
    const refused = originVerdict(port, policy.origins, request);
    if (refused === 500) return reply(response, 500, 'internal-error', 'The server could not decide on this request');
    if (refused === 403) return reply(response, 403, 'origin-not-allowed', 'This origin may not connect');
    cors(request, response);
    const method = request.method;
    if (method === 'OPTIONS') {
      response.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, DELETE',
        'access-control-allow-headers': `${SECRET_HEADER}, content-type, ${LAST_EVENT_ID_HEADER}`,
        'access-control-max-age': '600',
        'cache-control': 'no-store',
      });
      response.end();
      return;
    }
    const url = request.url ?? '';
    const params = new URLSearchParams(url.slice(url.indexOf('?') + 1));
    const id = params.get(HttpParam.session);
    if (id === null) {
      if (method === 'POST') return create(request, response);
      if (method === 'GET' && params.get(HttpParam.probe) === PROBE_ON) {
        return answerProbe(port, policy, context.accepting, request, response);
      }
      return reply(response, 400, 'bad-request', 'POST without "session" creates a session; other requests name theirs');
    }
    serveSession(request, response, id, params, false);
  };

  /**
   * A request that names session `id`: served here when the session is
   * here; forwarded through the backplane to the node whose id the session
   * id carries when it is there.
   */
  const serveSession = (
    request: IncomingMessage,
    response: ServerResponse,
    id: string,
    params: URLSearchParams,
    forwarded: boolean,
  ) => {
    const method = request.method;
    const session = SESSION_ID_PATTERN.test(id) ? table.get(id) : undefined;
    if (session === undefined) {
      const forwarding = context.forwarding;
      const owner = forwarded ? undefined : forwarding?.ownerOf(id);
      if (owner !== undefined && (method === 'GET' || method === 'POST' || method === 'DELETE')) {
        forwarding!.forward(owner, request, response, params).catch((error: unknown) => {
          port.reportError(error);
          internalError(response);
        });
        return;
      }
      return reply(response, 404, 'session-not-found', 'No such session here (it ended or expired)');
    }
    if (!secretMatches(session.secret, request.headers[SECRET_HEADER])) {
      return reply(response, 403, 'forbidden', `The ${SECRET_HEADER} header does not match the session's secret`);
    }
    const ackText = params.get(HttpParam.ack) ?? request.headers[LAST_EVENT_ID_HEADER];
    const ack = typeof ackText === 'string' ? wholeNumber(ackText, 0) : undefined;
    if (typeof ackText === 'string' && ack === undefined) return reply(response, 400, 'bad-request', '"ack" must be an event id');
    const seqText = params.get(HttpParam.seq);
    const seq = seqText === null ? undefined : wholeNumber(seqText, 1);
    if (seqText !== null && seq === undefined) return reply(response, 400, 'bad-request', '"seq" must be a whole number ≥ 1');
    // A closed session is forgotten sessionTimeout after it closed, whatever its client does.
    if (session.open) session.lastSeen = Date.now();
    switch (method) {
      case 'GET': {
        const downlink = session.downlink;
        if (ack !== undefined && !downlink.resumeFrom(ack)) {
          session.lost();
          return reply(response, 410, 'session-closed', 'Events after the acknowledged one are no longer held', {
            code: LOST_CODE,
            reason: 'events lost',
          });
        }
        if (session.closeAcked) {
          table.forget(session);
          return reply(response, 410, 'session-closed', 'The session is closed', { ...session.closeInfo });
        }
        if (params.get(HttpParam.poll) === POLL_ON) downlink.attachPoll(response);
        else if (forwarded) reply(response, 400, 'bad-request', 'Streams are not forwarded between nodes');
        else {
          request.socket.setNoDelay(true);
          downlink.attachStream(response);
        }
        return;
      }
      case 'POST':
        if (ack !== undefined) session.downlink.ack(ack);
        receivePost(session, seq, request, response, context.limits).catch((error: unknown) => {
          port.reportError(error);
          internalError(response);
        });
        return;
      case 'DELETE': {
        const codeText = params.get(HttpParam.code);
        // No code: as a close frame without a status code, the hub hears 1005.
        const code = codeText === null ? NO_STATUS_CODE : wholeNumber(codeText, 1000);
        // 1001: a closing page's goodbye (a browser's WebSocket says the same).
        if (code === undefined || (codeText !== null && !isGoodbyeCode(code))) {
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

  return { handle, serveSession };
}
