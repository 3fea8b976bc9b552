// A hub for the rooms section: room size up to 128, one node (see hub-rooms-redis.mjs for two).
import { SignallingHub } from '../../dist/index.js';
import { attach } from '../../dist/ws.js';

export function start(server) {
  const hub = new SignallingHub({ maxRoomMembers: 128 });
  hub.on('error', (error) => console.error('hub error', error));
  attach(hub, server);
}
