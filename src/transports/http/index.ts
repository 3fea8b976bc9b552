export { httpFallbackDefaults } from './options.js';
export type { HttpFallbackOptions, ResolvedHttpFallbackOptions } from './options.js';
