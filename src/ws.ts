/**
 * `signalling-hub/ws`: serves a `SignallingHub` over the `ws` package on
 * a path of the host's `http.Server`.
 * @module
 */
export * from './transports/ws/index.js';
