/**
 * `signalling-hub/client`: a typed client for browsers and Node.
 * @module
 */
export {};
