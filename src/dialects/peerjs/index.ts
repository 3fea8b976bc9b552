export { attachPeerjs, type PeerjsAttachment } from './attach.js';
export { PeerjsDialect, peerjsPort, type PeerjsHubLike } from './dialect.js';
export { handlePeerjsRequest, PEERJS_APP_INFO } from './http-routes.js';
export { type PeerjsOptions, peerjsDefaults, type ResolvedPeerjsOptions, resolvePeerjsOptions } from './options.js';
export { PEERJS_ID, PeerjsErrorText } from './wire.js';
