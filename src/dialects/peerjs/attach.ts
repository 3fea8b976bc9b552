import type { Server } from 'node:http';
import { attach, type AttachOptions, type Attachment } from '../../ws.js';
import { PeerjsDialect, type PeerjsHubLike } from './dialect.js';
import { handlePeerjsRequest } from './http-routes.js';
import type { PeerjsOptions } from './options.js';

/** A PeerJS endpoint served by {@link attachPeerjs}. */
export interface PeerjsAttachment {
  /** The dialect (ids online, queued bytes, `ownsLogin`…). */
  readonly dialect: PeerjsDialect;
  /** The WebSocket attachment at `{path}peerjs`. */
  readonly attachment: Attachment;
  /** Stops serving the path and its HTTP routes, closes its connections with 1001, stops the dialect's timers. */
  close(): Promise<void>;
}

type Emit = Server['emit'];

/**
 * Serves `hub` to PeerJS clients on `server`: the WebSocket at
 * `{path}peerjs` (through the same ws adapter as the hub's own protocol,
 * `attach()`) and the HTTP routes under `{path}`. Requests that are not
 * PeerJS routes reach the server's other listeners unchanged.
 *
 * @param attachOptions `attach()`'s options but `path` (always `{path}peerjs`) and `httpFallback` (off: PeerJS clients never use it).
 * @throws `InvalidOptionError` for a bad option; what `attach()` throws.
 */
export function attachPeerjs(
  hub: PeerjsHubLike,
  server: Server,
  options?: PeerjsOptions,
  attachOptions: Omit<AttachOptions, 'path' | 'httpFallback'> = {},
): PeerjsAttachment {
  const dialect = new PeerjsDialect(hub, options);
  let closing: Promise<void> | undefined;
  let attachment: Attachment;
  try {
    attachment = attach(dialect, server, { ...attachOptions, path: dialect.wsPath, httpFallback: false });
  } catch (error) {
    dialect.close();
    throw error;
  }
  // Taken before the host's `request` listeners (an Express app would answer 404 first).
  type AnyEmit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
  // Kept to be called with the server as `this`, as Node calls it.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const previous = server.emit as AnyEmit;
  const emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    // After close() the wrapper may still be in the chain (another one wrapped it since): it lets everything through.
    if (event === 'request' && closing === undefined && handlePeerjsRequest(dialect, args[0] as never, args[1] as never)) {
      return true;
    }
    return previous.call(this, event, ...args);
  } as Emit;
  server.emit = emit;
  return {
    dialect,
    attachment,
    close() {
      closing ??= (async () => {
        if (server.emit === emit) server.emit = previous as Emit;
        await attachment.close();
        dialect.close();
      })();
      return closing;
    },
  };
}
