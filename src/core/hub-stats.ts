import type { Backplane, BackplaneState } from './backplane.js';
import type { HubLifecycle } from './hub-lifecycle.js';
import { ConnectionState } from './connection-state.js';
import type { Router } from './router.js';
import type { HubCounters, HubStats } from './stats.js';

/**
 * `SignallingHub.stats()`: the counters copied (the host may keep the result)
 * and the gauges measured now. `backplaneState` is the state last reported,
 * for a backplane that cannot be asked.
 */
export function hubStats(
  c: HubCounters,
  lifecycle: HubLifecycle,
  router: Router,
  backplane: Backplane | undefined,
  backplaneState: BackplaneState | 'none',
): HubStats {
  let queuedBytes = 0;
  for (const connection of lifecycle.openConnections()) queuedBytes += connection.queuedBytes;
  const status = backplane?.status?.();
  const relays = {} as Record<keyof typeof c.relays, { local: number; crossNode: number }>;
  for (const type of Object.keys(c.relays) as Array<keyof typeof c.relays>) relays[type] = { ...c.relays[type] };
  const droppedPeers = router.count(ConnectionState.Dropped);
  return {
    peers: router.count(ConnectionState.Joined),
    connections: lifecycle.open,
    droppedPeers,
    heldBytes: router.heldBytes(),
    resumes: c.resumes,
    logins: c.logins,
    loginRefusals: { ...c.loginRefusals },
    relays,
    relaysFromCluster: c.relaysFromCluster,
    protocolErrors: { ...c.protocolErrors },
    closes: { ...c.closes },
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    queuedBytes,
    backplane: { state: status?.state ?? backplaneState, roundTripMs: status?.roundTripMs },
  };
}
