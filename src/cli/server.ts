import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignallingHub } from '../core/hub.js';
import { healthHandler } from '../ops/health.js';
import { METRICS_CONTENT_TYPE } from '../ops/metrics.js';
import { LoginFailure } from '../protocol/error-codes.js';
import { attachPeerjs, type PeerjsAttachment } from '../dialects/peerjs/attach.js';
import { attachYWebrtc, type YWebrtcAttachment } from '../dialects/y-webrtc/attach.js';
import { attach, type Attachment } from '../transports/attach.js';
import { pathnameOf } from '../transports/shared/path.js';
import type { CliOptions } from './args.js';
import { cliBackplane, joinCluster, shown } from './cluster.js';
import { demoHandler } from './demo.js';
import { identityAttachOptions, identityHubOptions } from './identity.js';
import type { Logger } from './log.js';
import { cliMetrics } from './metrics.js';

/** The standalone server: a plain `http.Server` with one hub attached, built on the public API. */
export interface StandaloneServer {
  readonly hub: SignallingHub;
  readonly server: Server;
  readonly attachment: Attachment;
  /** The WebSocket URL clients connect to. */
  readonly url: string;
  /** The demo page's URL. */
  readonly demoUrl: string;
  /** The address and port the server is bound to, e.g. `[::]:9090` or `127.0.0.1:9090`. */
  readonly address: string;
  /** Marks the server as shutting down (`/readyz` answers 503), closes every connection, the hub and the server. */
  close(): Promise<void>;
  /**
   * Like `close()`, but drains first (`hub.drain()`): resumable peers are told
   * to resume elsewhere and their names stay reserved until they did, or
   * `timeout` ms passed.
   */
  drain(timeout?: number): Promise<void>;
}

const loginFailures = new Set<string>(Object.values(LoginFailure));
const alreadyLoggedIn: string = LoginFailure.AlreadyLoggedIn;

/**
 * One log line per event of the hub; never a token or a message's content. Lines a client can
 * cause (joins, leaves, refused logins, errors and warnings a relay can trigger) are bounded per
 * kind by the log limit; the kind is the event and its code, never a name.
 */
function logHubEvents(hub: SignallingHub, log: Logger): void {
  hub.on('peer-joined', (peer) =>
    log.bounded('info', 'peer-joined', 'peer joined', { name: peer.name, id: peer.id, address: peer.remoteAddress }),
  );
  hub.on('peer-left', (event) =>
    log.bounded('info', `peer-left:${event.reason}`, 'peer left', {
      name: event.name,
      id: event.peer.id,
      reason: event.reason,
      code: event.code,
    }),
  );
  hub.on('protocol-error', (event) => {
    // A refused login comes from a connection without a name yet (or one already logged in).
    if (loginFailures.has(event.code) && (event.name === undefined || event.code === alreadyLoggedIn)) {
      log.bounded('info', `login-refused:${event.code}`, 'login refused', { reason: event.code, id: event.id });
    } else if (log.enabled('debug')) {
      log.debug('protocol error', { code: event.code, id: event.id, name: event.name, message: event.message });
    }
  });
  hub.on('peer-dropped', (event) =>
    log.bounded('info', 'peer-dropped', 'peer dropped, may resume', {
      name: event.peer.name,
      id: event.peer.id,
      code: event.code,
      until: new Date(event.expiresAt).toISOString(),
    }),
  );
  hub.on('peer-resumed', (event) =>
    log.bounded('info', 'peer-resumed', 'peer resumed', {
      name: event.peer.name,
      id: event.peer.id,
      from: event.previous.node ?? 'this node',
    }),
  );
  hub.on('error', (error) => log.bounded('error', `error:${error.code}`, error.message, { code: error.code }));
  hub.on('warning', (warning) => log.bounded('warn', `warning:${warning.code}`, warning.message, { code: warning.code }));
  hub.on('backplane-state', (state) => {
    if (state === 'disconnected') log.warn('backplane disconnected', { state });
    else log.info(`backplane ${state}`, { state });
  });
}

function formatAddress(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const where = `${host ?? 'every interface'} port ${port}`;
      if (error.code === 'EADDRINUSE') {
        reject(
          new Error(
            `cannot listen on ${where}: it is already in use (another server runs there; choose another with --port or PORT)`,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(new Error(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`));
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(new Error(`cannot listen on ${where}: no such address on this machine`));
      } else {
        reject(error);
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

/** Starts the standalone server; `log`, when given, receives one line per event of the hub. */
export async function startStandalone(options: CliOptions, log?: Logger): Promise<StandaloneServer> {
  const hub = new SignallingHub({
    ...options.hub,
    ...identityHubOptions(options.identity),
    backplane: cliBackplane(options.redis, options.redisCluster, options.links),
  });
  if (log !== undefined) logHubEvents(hub, log);
  // The Redis (or the seed URLs of the Redis Cluster) the hub joins through.
  const redis = options.redis ?? options.redisCluster?.join(',');
  if (redis !== undefined) log?.info('joining the cluster', { redis: shown(redis) });
  await joinCluster(hub, redis);
  let shuttingDown = false;
  const demo = demoHandler(options.path);
  const server: Server = createServer((request, response) => {
    if (health(request, response)) return;
    if (options.metrics && pathnameOf(request.url) === '/metrics') {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const body = cliMetrics(hub);
      response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
      return;
    }
    demo(request, response);
  });
  const health = healthHandler(hub, { server, shuttingDown: () => shuttingDown });
  let attachment: Attachment;
  let peerjs: PeerjsAttachment | undefined;
  let yWebrtc: YWebrtcAttachment | undefined;
  try {
    attachment = attach(hub, server, {
      ...identityAttachOptions(options.identity),
      path: options.path,
      ...(options.origins === undefined ? {} : { origins: options.origins }),
      ...(options.heartbeat === undefined ? {} : { heartbeatInterval: options.heartbeat }),
      ...(options.httpFallback ? {} : { httpFallback: false }),
    });
    if (options.peerjs !== undefined) {
      peerjs = attachPeerjs(hub, server, options.peerjs, {
        ...(options.origins === undefined ? {} : { origins: options.origins }),
        ...(options.heartbeat === undefined ? {} : { heartbeatInterval: options.heartbeat }),
      });
    }
    if (options.yWebrtc !== undefined) {
      yWebrtc = attachYWebrtc(hub, server, options.yWebrtc, {
        ...(options.origins === undefined ? {} : { origins: options.origins }),
        ...(options.heartbeat === undefined ? {} : { heartbeatInterval: options.heartbeat }),
        ...(options.httpFallback ? {} : { httpFallback: false }),
      });
    }
    await listen(server, options.port, options.host);
  } catch (error) {
    await hub.close();
    throw error;
  }
  const close = async () => {
    shuttingDown = true;
    await Promise.all([attachment.close(), peerjs?.close(), yWebrtc?.close()]);
    await hub.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const bound = server.address() as AddressInfo;
  const shownHost =
    options.host === undefined || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const origin = `${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${bound.port}`;
  return {
    hub,
    server,
    attachment,
    url: `ws://${origin}${options.path}`,
    demoUrl: `http://${origin}/`,
    address: formatAddress(bound),
    close,
    async drain(timeout) {
      shuttingDown = true;
      await hub.drain(timeout === undefined ? {} : { timeout });
      await close();
    },
  };
}
