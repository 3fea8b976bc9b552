import { type Check, boolean, resolveOptions, string } from '../../core/option-check.js';

/**
 * Options of the y-webrtc dialect ({@link yWebrtcPort}, {@link attachYWebrtc}).
 * Every one is optional; unknown keys are refused.
 */
export interface YWebrtcOptions {
  /**
   * The URL path y-webrtc clients connect to (their `signaling` URL's path).
   * @default '/'
   */
  path?: string;
  /**
   * Starts the hub room of every topic (see {@link roomOfTopic}). Endpoints
   * with the same prefix share their topics; the hub's own clients reach a
   * topic's room only if the host lets them join rooms with this prefix.
   * @default 'y-webrtc:'
   */
  roomPrefix?: string;
  /**
   * Whether a connection may publish to a topic it has not subscribed to
   * (y-webrtc's server allows it; its client never does it). When on, such a
   * publish reaches the topic's subscribers on every node (through
   * `hub.members()` and `hub.broadcast()`); when off, it is answered with an
   * `error` frame (`not-in-room`).
   * @default false
   */
  publishWithoutSubscribe?: boolean;
}

/** {@link YWebrtcOptions} with every default filled in. */
export interface ResolvedYWebrtcOptions {
  readonly path: string;
  readonly roomPrefix: string;
  readonly publishWithoutSubscribe: boolean;
}

/** The defaults of {@link YWebrtcOptions}. */
export const yWebrtcDefaults: ResolvedYWebrtcOptions = Object.freeze({
  path: '/',
  roomPrefix: 'y-webrtc:',
  publishWithoutSubscribe: false,
});

const checks: { readonly [K in keyof ResolvedYWebrtcOptions]-?: Check<ResolvedYWebrtcOptions[K]> } = {
  path: string('a URL path starting with "/", without "?", "#", spaces or control characters', /^\/[^?#\s\p{Cc}]*$/u),
  // Printable ASCII without "%" (the escape character of topics) or quotes (kept out of JSON escapes).
  roomPrefix: string(
    '1 to 64 printable ASCII characters but "%", "\\" and \'"\'',
    /^[\x20\x21\x23\x24\x26-\x5b\x5d-\x7e]{1,64}$/,
  ),
  publishWithoutSubscribe: boolean,
};

/** Fills in defaults; throws `InvalidOptionError` for an unknown option or a value that cannot work. */
export function resolveYWebrtcOptions(options: unknown): ResolvedYWebrtcOptions {
  return Object.freeze(resolveOptions<ResolvedYWebrtcOptions>('the y-webrtc dialect', options, yWebrtcDefaults, checks));
}
