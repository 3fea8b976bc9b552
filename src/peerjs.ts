/**
 * `signalling-hub/peerjs`: serves a `SignallingHub` to PeerJS clients
 * (peerjs-server's wire), over the same ws adapter and backplane.
 * @module
 */
export * from './dialects/peerjs/index.js';
