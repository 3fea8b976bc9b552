export { attachYWebrtc, type YWebrtcAttachment } from './attach.js';
export { YWebrtcDialect, yWebrtcPort, type YWebrtcHubLike } from './dialect.js';
export { resolveYWebrtcOptions, type ResolvedYWebrtcOptions, yWebrtcDefaults, type YWebrtcOptions } from './options.js';
export { escapeTopic, roomOfTopic, topicOfRoom } from './topics.js';
export { YWebrtcErrorCode } from './wire.js';
