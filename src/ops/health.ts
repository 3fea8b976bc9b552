import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BackplaneState } from '../core/backplane.js';
import type { HubStats } from '../core/stats.js';

/** What the health checks read of a hub (a `SignallingHub` is one). */
export interface HealthSource {
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** `false` once `drain()` or `close()` was called (new connections are refused). */
  readonly accepting?: boolean;
  stats(): HubStats;
}

/** Options of {@link readinessCheck} and {@link healthHandler}. */
export interface ReadinessOptions {
  /**
   * The server the hub is attached to: not ready until it listens (and no
   * longer once it is closed). Any object with `listening` will do.
   * @default undefined (not checked)
   */
  server?: { readonly listening: boolean };
  /**
   * Returns `true` once the host has begun to shut down (e.g. on SIGTERM,
   * before it closes the hub), so that load balancers stop sending clients
   * while the open connections are closed.
   * @default undefined
   */
  shuttingDown?: () => boolean;
}

/** The result of a readiness check. */
export interface Readiness {
  /** Ready for new clients: the hub is open, the server listens and the backplane (if any) is connected. */
  readonly ready: boolean;
  readonly checks: {
    readonly hub: 'open' | 'closed' | 'draining' | 'shutting-down';
    /** Absent when no server was given. */
    readonly server?: 'listening' | 'not-listening';
    readonly backplane: BackplaneState | 'none';
  };
}

/**
 * A readiness check for a hub: call the returned function at each probe. A
 * node whose backplane is not connected is not ready (it cannot claim names),
 * nor is a closed, draining or shutting-down hub.
 *
 * @example
 * ```ts
 * const ready = readinessCheck(hub, { server });
 * if (!ready().ready) …
 * ```
 */
export function readinessCheck(hub: HealthSource, options: ReadinessOptions = {}): () => Readiness {
  return () => {
    const hubState = hub.closed
      ? 'closed'
      : hub.accepting === false
        ? 'draining'
        : options.shuttingDown?.() === true
          ? 'shutting-down'
          : 'open';
    const backplane = hub.stats().backplane.state;
    const server = options.server === undefined ? undefined : options.server.listening ? 'listening' : 'not-listening';
    const ready = hubState === 'open' && server !== 'not-listening' && (backplane === 'none' || backplane === 'connected');
    return { ready, checks: server === undefined ? { hub: hubState, backplane } : { hub: hubState, server, backplane } };
  };
}

/** Options of {@link healthHandler}. */
export interface HealthHandlerOptions extends ReadinessOptions {
  /** Path of the liveness probe (200 while the process serves HTTP). @default '/healthz' */
  livenessPath?: string;
  /** Path of the readiness probe (200 when ready, 503 otherwise). @default '/readyz' */
  readinessPath?: string;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/**
 * An HTTP handler for liveness (`GET /healthz`: 200 while the process
 * answers) and readiness (`GET /readyz`: 200 when {@link readinessCheck}
 * says ready, 503 otherwise), with a small JSON body. Requests to other paths
 * are passed to `next` when given (Express-style middleware) and otherwise
 * left alone: the handler returns whether it answered.
 *
 * @example
 * ```ts
 * const health = healthHandler(hub, { server });
 * const server = createServer((request, response) => {
 *   if (health(request, response)) return;
 *   app(request, response);
 * });
 * // Express: app.use(healthHandler(hub, { server }));
 * ```
 */
export function healthHandler(
  hub: HealthSource,
  options: HealthHandlerOptions = {},
): (request: IncomingMessage, response: ServerResponse, next?: () => void) => boolean {
  const livenessPath = options.livenessPath ?? '/healthz';
  const readinessPath = options.readinessPath ?? '/readyz';
  const check = readinessCheck(hub, options);
  return (request, response, next) => {
    const path = pathOf(request.url);
    if (path !== livenessPath && path !== readinessPath) {
      next?.();
      return false;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    let status = 200;
    let body: object = { status: 'ok' };
    if (path === readinessPath) {
      const readiness = check();
      status = readiness.ready ? 200 : 503;
      body = { status: readiness.ready ? 'ready' : 'not-ready', checks: readiness.checks };
    }
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : `${JSON.stringify(body)}\n`);
    return true;
  };
}
