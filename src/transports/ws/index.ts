export { attach } from './attach.js';
export type { Attachment } from './attach.js';
export { attachDefaults } from './options.js';
export type { AttachOptions, OriginCheck, ResolvedAttachOptions } from './options.js';
export { httpFallbackDefaults } from '../http/index.js';
export type { HttpFallbackOptions, ResolvedHttpFallbackOptions } from '../http/index.js';
