/**
 * `signalling-hub/redis`: a Redis backplane for running several hubs as one.
 * @module
 */
export {};
