/**
 * `signalling-hub/bun`: serves a `SignallingHub` over `Bun.serve`'s
 * WebSockets, with the `ws` adapter's behaviour.
 * @module
 */
export * from './transports/bun/index.js';
