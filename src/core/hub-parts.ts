import type { EventEmitter } from 'eventemitter3';
import type { HubAdapterPort } from './adapter-port.js';
import type { HubEvents } from './events.js';
import type { HubLifecycle } from './hub-lifecycle.js';
import type { ResolvedHubOptions } from './options.js';
import type { Router } from './router.js';
import type { Rooms } from './rooms/rooms.js';
import type { HubCounters } from './stats.js';

/**
 * What a hub is made of, as the modules it delegates to see it (built once,
 * in its constructor): the hub's side of connections and of the backplane
 * wire these parts to each other and to the hub's events.
 */
export interface HubParts {
  /** The hub, for its events (`peer.data` untyped: the hub's `D` is the host's view). */
  readonly events: EventEmitter<HubEvents>;
  readonly options: ResolvedHubOptions;
  readonly router: Router;
  readonly rooms: Rooms;
  readonly counters: HubCounters;
  readonly lifecycle: HubLifecycle;
  readonly port: HubAdapterPort;
  /** Emits `error` on the hub. */
  readonly reportError: (error: unknown) => void;
}
