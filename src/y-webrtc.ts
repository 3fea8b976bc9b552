/**
 * `signalling-hub/y-webrtc`: serves a `SignallingHub` to y-webrtc clients
 * (the wire of y-webrtc's `bin/server.js`), its topics as the hub's rooms,
 * over the same ws adapter and backplane.
 * @module
 */
export * from './dialects/y-webrtc/index.js';
