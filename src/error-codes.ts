import type { ClientErrorCode } from './client/errors.js';
import type { RoomErrorCode } from './client/room-errors.js';
import type { NodeLinkErrorCode } from './cluster/links/errors.js';
import type { RedisErrorCode } from './cluster/redis/errors.js';
import type { CommonErrorCode } from './common/errors.js';
import type { HubErrorCode } from './core/errors.js';

/**
 * Stable, machine-readable codes of {@link SignallingHubError}s: every
 * layer's (see each error class for its own). Match on `error.code`, never on
 * the message (messages may be reworded).
 */
export type SignallingHubErrorCode =
  CommonErrorCode | HubErrorCode | ClientErrorCode | RoomErrorCode | RedisErrorCode | NodeLinkErrorCode;
