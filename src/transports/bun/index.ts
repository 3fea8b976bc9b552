export { createBunHandler } from './handler.js';
export type { BunHandler } from './handler.js';
export { bunHandlerDefaults } from './options.js';
export type { BunHandlerOptions, BunOriginCheck, ResolvedBunHandlerOptions } from './options.js';
export type { BunTransport } from './bun-transport.js';
export type { BunServer, BunServerWebSocket, BunWebSocketHandler } from './bun-types.js';
