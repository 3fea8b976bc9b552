import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { AdapterPort } from '../../core/adapter-port.js';
import { CloseCode } from '../../protocol/close-codes.js';
import { type AdmissionPolicy, admit, type Verdict } from '../shared/admission.js';
import { closeWithTimeout } from '../shared/close-with-timeout.js';
import { fastPathFor } from './fast-path/index.js';
import { pingSockets } from './heartbeat.js';
import { HubSocket } from './hub-socket.js';
import { addRoute, refuse, type UpgradeServer } from './upgrade-dispatcher.js';
import type { WsTransportContext } from './ws-transport.js';

/** How one WebSocket endpoint serves (attach()'s options, resolved). */
export interface WebSocketSettings {
  readonly path: string;
  readonly policy: AdmissionPolicy<IncomingMessage>;
  /** Milliseconds between pings (0: none). */
  readonly heartbeatInterval: number;
  /** Largest frame accepted. */
  readonly maxPayload: number;
  /** Milliseconds `close()` waits for clients to answer the 1001 close. */
  readonly closeTimeout: number;
  readonly unhandledUpgradeTimeout: number;
  /** Whether the fast path may engage. */
  readonly fastPath: boolean;
}

/** The WebSocket endpoint of one attachment. */
export interface WebSocketEndpoint {
  /** Open WebSocket connections. */
  readonly connections: number;
  /** Whether the fast path is engaged. */
  readonly fastPath: boolean;
  /** Stops taking upgrades and closes the connections with 1001 (terminated after `closeTimeout`). */
  close(): Promise<void>;
}

const STATUS_LINES: Readonly<Record<Exclude<Verdict, 200>, string>> = {
  401: '401 Unauthorized',
  403: '403 Forbidden',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

function ignore(): void {
  // A reset socket while verifyUpgrade runs: refuse() or the destroyed check handles it.
}

/**
 * Serves the hub of `port` over WebSocket (the `ws` package) on
 * `settings.path` of `server`, through the server's shared upgrade dispatcher.
 * @throws `SH_ERR_ALREADY_ATTACHED` when the path is served already.
 */
export function serveWebSocket(port: AdapterPort, server: UpgradeServer, settings: WebSocketSettings): WebSocketEndpoint {
  const { maxPayload, policy } = settings;
  const fastPath = fastPathFor(port, settings.fastPath);
  const context: WsTransportContext = { maxPayload, reportError: port.reportError };
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload, WebSocket: HubSocket });
  let closed = false;
  const accepting = () => !closed && port.accepting;

  const accept = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      const transport = fastPath.transportFor(ws, context);
      transport.session = port.open(transport, { request, remoteAddress: request.socket.remoteAddress });
      ws.transport = transport;
      fastPath.start(transport);
    });
  };

  const handle = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    admit(
      port,
      policy,
      request,
      accepting,
      (verdict) => (verdict === 200 ? accept(request, socket, head) : refuse(socket, STATUS_LINES[verdict])),
      {
        // Keep an error listener while the host decides, or a reset socket crashes the process.
        begin: () => socket.on('error', ignore),
        end: () => {
          socket.removeListener('error', ignore);
          return !socket.destroyed;
        },
      },
    );
  };
  const removeRoute = addRoute(server, settings.path, { handle, unhandledUpgradeTimeout: settings.unhandledUpgradeTimeout });
  const stopHeartbeat = pingSockets(wss.clients, settings.heartbeatInterval);

  return {
    get connections() {
      return wss.clients.size;
    },
    get fastPath() {
      return fastPath.engaged;
    },
    async close() {
      if (closed) return;
      closed = true;
      removeRoute();
      stopHeartbeat();
      await closeWithTimeout(
        wss.clients,
        {
          close(socket, done) {
            socket.once('close', done);
            if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
              socket.close(CloseCode.GoingAway, 'server going away');
            } else if (socket.readyState === WebSocket.CLOSED) done();
          },
          terminate: (socket) => socket.terminate(),
        },
        settings.closeTimeout,
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
