/**
 * `signalling-hub/ws`: serves a `SignallingHub` over the `ws` package, with
 * the HTTP fallback, on a path of the host's `http.Server`.
 * @module
 */
export { attach } from './transports/attach.js';
export type { Attachment } from './transports/attach.js';
export { attachDefaults } from './transports/attach-options.js';
export type { AttachOptions, OriginCheck, ResolvedAttachOptions } from './transports/attach-options.js';
export type { TrustProxy } from './transports/shared/client-address.js';
export type { ConnectionRateOptions } from './transports/shared/address-caps.js';
export { httpFallbackDefaults } from './transports/http/options.js';
export type { HttpFallbackOptions, ResolvedHttpFallbackOptions } from './transports/http/options.js';
