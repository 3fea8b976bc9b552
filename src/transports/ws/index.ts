export { attach } from './attach.js';
export type { AttachOptions, Attachment } from './attach.js';
export { WsTransport } from './ws-transport.js';
