import { CloseCode } from '../protocol/close-codes.js';
import type { BackplaneHost, BackplaneState } from './backplane.js';
import { ConnectionState } from './connection-state.js';
import type { HubParts } from './hub-parts.js';
import { sameToken } from './login.js';

/** A hub's link to its backplane. */
export interface BackplaneLink {
  /** Resolves once the backplane (if any) is connected; rejects if it could not start. */
  readonly ready: Promise<void>;
  /** The state it last reported (`none`: the hub has no backplane). */
  readonly state: BackplaneState | 'none';
}

/**
 * Starts the hub's backplane, if it has one, with the hub's side of it (see
 * `BackplaneHost`): envelopes delivered, claims lost, nodes gone, rooms'
 * messages, hand-overs of resumed peers, requests from other nodes, and its
 * state changes as `backplane-state` events.
 */
export function linkBackplane(parts: HubParts): BackplaneLink {
  const { events, options, router, rooms, port, reportError } = parts;
  const backplane = options.backplane;
  if (backplane === undefined) return { ready: Promise.resolve(), state: 'none' };
  const link: { ready: Promise<void>; state: BackplaneState | 'none' } = { ready: Promise.resolve(), state: 'connecting' };
  const { resumeMaxMessages, resumeMaxBytes, maxNameLength, maxCallsPerPeer } = options;
  const backplaneHost: BackplaneHost = {
    resumeBounds: { maxMessages: resumeMaxMessages, maxBytes: resumeMaxBytes, maxNameLength, maxCalls: maxCallsPerPeer },
    deliver: (envelope) => router.deliver(envelope),
    localClaims: () => router.claims(),
    claimLost: (name, claimId) => {
      const holder = router.holder(name);
      if (holder !== undefined && holder.claimId === claimId) {
        holder.close(CloseCode.ClaimLost, 'name claimed on another node', 'claim-lost');
      }
    },
    nodeDown: (nodeId) => {
      router.nodeDown(nodeId);
      rooms.nodeDown(nodeId);
    },
    remoteNodes: () => {
      const nodes = router.remoteNodes();
      rooms.table.remoteNodes(nodes);
      return nodes;
    },
    roomMessage: (fromNode, message) => rooms.received(fromNode, message),
    error: reportError,
    handOverRequested: (name, token) => {
      const holder = router.holder(name);
      if (holder === undefined || !holder.resumable || !sameToken(holder.token, token)) return undefined;
      const grant = holder.beginTransfer(backplane.nodeId);
      return grant === undefined ? undefined : { claimId: holder.claimId, grant };
    },
    handOverSettled: (name, committed) => {
      const holder = router.holder(name);
      if (holder?.state === ConnectionState.Transferring) holder.settleTransfer(committed);
    },
    grantAbandoned: (name, grant) => router.abandonGrant(name, grant),
    nodeMessage: (fromNode, channel, payload) => port.dispatch(fromNode, channel, payload),
    stateChanged: (state) => {
      if (state === link.state) return;
      link.state = state;
      events.emit('backplane-state', state);
    },
  };
  link.ready = backplane.start(backplaneHost).then(() => {
    // A custom backplane that reports no states is connected once started.
    if (backplane.status === undefined) backplaneHost.stateChanged('connected');
  });
  // `ready` is for hosts that await it; failures also reach the error event.
  link.ready.catch(reportError);
  return link;
}
