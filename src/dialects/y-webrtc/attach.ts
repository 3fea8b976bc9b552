import type { Server } from 'node:http';
import { attach, type AttachOptions, type Attachment } from '../../ws.js';
import { YWebrtcDialect, type YWebrtcHubLike } from './dialect.js';
import type { YWebrtcOptions } from './options.js';

/** A y-webrtc endpoint served by {@link attachYWebrtc}. */
export interface YWebrtcAttachment {
  /** The dialect (`roomOf`, `topicOf`, `ownsLogin`, connections). */
  readonly dialect: YWebrtcDialect;
  /** The attachment at `path`. */
  readonly attachment: Attachment;
  /** Stops serving the path and closes its connections with 1001. */
  close(): Promise<void>;
}

/**
 * Serves `hub` to y-webrtc clients (`new WebrtcProvider(room, doc, { signaling: ['ws://host:port/path'] })`)
 * on `server` at `options.path`, through the same ws adapter as the hub's own
 * protocol (`attach()`): the same limits, heartbeat (a ping every 30 s, as
 * y-webrtc's server), origin checks, and the HTTP fallback on the same path
 * (which y-webrtc's client never uses; `httpFallback: false` turns it off).
 *
 * @param attachOptions `attach()`'s options but `path` (the dialect's).
 * @throws `InvalidOptionError` for a bad option; what `attach()` throws.
 */
export function attachYWebrtc(
  hub: YWebrtcHubLike,
  server: Server,
  options?: YWebrtcOptions,
  attachOptions: Omit<AttachOptions, 'path'> = {},
): YWebrtcAttachment {
  const dialect = new YWebrtcDialect(hub, options);
  const attachment = attach(dialect, server, { ...attachOptions, path: dialect.options.path });
  return { dialect, attachment, close: () => attachment.close() };
}
