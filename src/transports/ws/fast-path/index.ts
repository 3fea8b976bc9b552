import type { WebSocket } from 'ws';
import type { AdapterPort } from '../../../core/adapter-port.js';
import { SignallingHubError } from '../../../core/errors.js';
import { WsTransport, type WsTransportContext } from '../ws-transport.js';
import { FastWsTransport } from './fast-ws-transport.js';
import { canReadFramesFast, readFramesFast } from './frame-reader.js';
import { fastPathDisabledByEnv, fastPathSupports, FAST_PATH_WS_VERSIONS, installedWsVersion } from './version.js';
import type { CorkableSocket } from './write-coalescer.js';

/**
 * The `ws` adapter's fast path for one endpoint: it reads plain text frames
 * itself and writes pre-framed, corked buffers, through private parts of ws
 * (`_receiver`, `_socket`). Everything that touches them is in this folder,
 * behind the version guard (`version.ts`) and the `fastPath` option.
 */
export interface FastPath {
  /** Whether it is engaged: it turns off for good once a connection finds ws's internals not as expected. */
  readonly engaged: boolean;
  /** The transport of a new connection: the fast one while engaged, else ws's public API only. */
  transportFor(socket: WebSocket, context: WsTransportContext): WsTransport;
  /** Takes over reading frames for a transport from {@link transportFor}, once its session is open. */
  start(transport: WsTransport): void;
}

/** Hubs already told that the fast path could not engage: they hear it once. */
const warned = new WeakSet<object>();

function warnOnce(port: AdapterPort, message: string): void {
  if (warned.has(port)) return;
  warned.add(port);
  port.warn(new SignallingHubError('SH_ERR_TRANSPORT', message));
}

/** Whether the fast path may engage; warns when the ws version keeps it off. */
function wanted(port: AdapterPort, option: boolean): boolean {
  if (!option || fastPathDisabledByEnv()) return false;
  const version = installedWsVersion();
  if (fastPathSupports(version)) return true;
  warnOnce(
    port,
    `ws ${version ?? '(version unknown)'} is outside the versions the ws adapter's fast path was tested with ` +
      `(${FAST_PATH_WS_VERSIONS}): it uses ws's public API only, which is slower`,
  );
  return false;
}

/** ws's private `_socket`, when frames may be written to it directly. */
function rawSocketOf(ws: WebSocket): CorkableSocket | undefined {
  const raw = (ws as unknown as { _socket?: Partial<CorkableSocket> | null })._socket;
  // With permessage-deflate (off here) ws may queue frames while it compresses, so only ws may write then.
  if (raw === undefined || raw === null || ws.extensions !== '') return undefined;
  if (typeof raw.cork !== 'function' || typeof raw.uncork !== 'function' || typeof raw.write !== 'function') return undefined;
  return raw as CorkableSocket;
}

/** The fast path of one endpoint of `port`'s hub; `option` is `attach()`'s `fastPath`. */
export function fastPathFor(port: AdapterPort, option: boolean): FastPath {
  let engaged = wanted(port, option);
  return {
    get engaged() {
      return engaged;
    },
    transportFor(socket, context) {
      if (engaged) {
        const raw = rawSocketOf(socket);
        if (raw !== undefined && canReadFramesFast(socket)) return new FastWsTransport(socket, context, raw);
        engaged = false;
        warnOnce(
          port,
          `ws ${installedWsVersion() ?? ''}: its internals are not as the ws adapter's fast path expects; it uses ws's public API only`,
        );
      }
      return new WsTransport(socket, context);
    },
    start(transport) {
      if (transport instanceof FastWsTransport) readFramesFast(transport);
    },
  };
}
