/**
 * The y-webrtc wire as y-webrtc's `bin/server.js` speaks it, and the frames
 * this dialect adds (error frames, which the y-webrtc client ignores: it
 * reads `publish` frames only).
 */

export const PONG_FRAME = '{"type":"pong"}';

/** Codes of the dialect's own `error` frames (the hub's codes pass through as the hub sends them). */
export const YWebrtcErrorCode = Object.freeze({
  /** The frame is not JSON. */
  InvalidJson: 'invalid-json',
  /** Not an object with a string `type`, or a field of the wrong kind (`topics` not an array, `topic` not a string). */
  InvalidMessage: 'invalid-message',
  /** A binary frame. */
  BinaryNotSupported: 'binary-not-supported',
  /** A publish to a topic this connection has not subscribed to (`publishWithoutSubscribe` off). */
  NotInRoom: 'not-in-room',
  /** Too many publishes to a topic whose subscription the cluster has not confirmed yet. */
  SubscribePending: 'subscribe-pending',
  /** Subscribing past the hub's `maxRoomsPerPeer`. */
  TooManyRooms: 'too-many-rooms',
});

/** `{"type":"error","code":C,"message":M}` plus `topic` when the frame was about one. */
export function errorFrame(code: string, message: string, topic?: string): string {
  return JSON.stringify(topic === undefined ? { type: 'error', code, message } : { type: 'error', code, message, topic });
}

/** `{"type":"broadcast","room":R,"data":D}` for the hub, both already JSON. */
export function hubBroadcast(roomJson: string, dataJson: string): string {
  return '{"type":"broadcast","room":' + roomJson + ',"data":' + dataJson + '}';
}

export function hubJoin(roomJson: string): string {
  return '{"type":"join","room":' + roomJson + '}';
}

export function hubPart(roomJson: string): string {
  return '{"type":"part","room":' + roomJson + '}';
}

/** Start of the hub's broadcast frames (protocol/rooms.ts builds them so). */
export const HUB_BROADCAST_PREFIX = '{"type":"broadcast","room":';
