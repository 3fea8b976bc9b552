import type { Backplane, Envelope, ForwardResult, ResumeGrant } from './backplane.js';
import { encodeError, encodeLeave } from '../protocol/encode.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { RelayType } from '../protocol/messages.js';
import { decodeUtf8, isWellFormed } from '../protocol/utf8.js';
import type { Connection } from './connection.js';
import type { Routes } from './connection-host.js';
import { ConnectionState, type Parked, type PartnerNode } from './connection-state.js';
import type { HubCounters } from './stats.js';
import { HookError } from './errors.js';
import type { RelayRequest, ResolvedHubOptions } from './options.js';

const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };

/**
 * Who holds which name, and how a frame reaches a name: the local map first,
 * then the backplane. Also keeps the call bookkeeping that decides who hears
 * `leave` when a peer goes. Every registration and delivery passes here.
 */
export class Router implements Routes<Connection> {
  /** Names held or being claimed on this node. */
  private readonly names = new Map<string, Connection>();

  /** The host's relay policy; `undefined` (no hook) costs the hot path one branch. */
  private readonly authorize: ((relay: RelayRequest) => boolean) | undefined;
  private readonly hideRefusal: boolean;

  constructor(
    private readonly backplane: Backplane | undefined,
    private readonly counters: HubCounters,
    private readonly reportError: (error: unknown) => void,
    policy?: Pick<ResolvedHubOptions, 'authorizeRelay' | 'relayRefusal'>,
  ) {
    this.authorize = policy?.authorizeRelay;
    this.hideRefusal = policy?.relayRefusal === 'not-found';
  }

  /**
   * The host's `authorizeRelay` refused `from` a relay to `target`: the
   * sender is told (as for an absent name, when the host wants it hidden).
   * A throwing hook refuses too.
   */
  private refused(from: Connection, type: RelayType, target: string): boolean {
    let allowed: boolean;
    try {
      allowed = this.authorize!({ from: from.peer(), to: target, type }) === true;
    } catch (error) {
      this.reportError(new HookError('authorizeRelay', error));
      allowed = false;
    }
    if (allowed) return false;
    if (this.hideRefusal) from.fail(ErrorCode.PeerNotFound, `Peer not found: ${target}`, type, target);
    else from.fail(ErrorCode.Forbidden, `Not allowed to send ${type} to ${target}`, type, target);
    return true;
  }

  /** The local connection holding `name`, joined or still logging in. */
  holder(name: string): Connection | undefined {
    return this.names.get(name);
  }

  /** Reserves `name` locally so racing local logins see it taken while the backplane decides. */
  reserve(name: string, connection: Connection): void {
    this.names.set(name, connection);
  }

  /** Frees `name` if `connection` holds it, locally and in the cluster. */
  release(name: string, connection: Connection, claimed: boolean): void {
    if (this.names.get(name) !== connection) return;
    this.names.delete(name);
    if (claimed) this.backplane?.release(name, connection.claimId);
  }

  /** Forgets `name` here if `connection` holds it, keeping its cluster claim (it moved to another node with it). */
  forget(name: string, connection: Connection): void {
    if (this.names.get(name) === connection) this.names.delete(name);
  }

  /** How many local names are held by connections in `state`. */
  count(state: ConnectionState): number {
    let count = 0;
    for (const connection of this.names.values()) if (connection.state === state) count++;
    return count;
  }

  /** Bytes parked for local dropped or resuming peers (see `HubStats.heldBytes`). */
  heldBytes(): number {
    let bytes = 0;
    for (const connection of this.names.values()) bytes += connection.heldBytes;
    return bytes;
  }

  /** The local connections in `state`, as they are now (safe to close them while iterating). */
  inState(state: ConnectionState): Connection[] {
    const found: Connection[] = [];
    for (const connection of this.names.values()) if (connection.state === state) found.push(connection);
    return found;
  }

  /** Names this node holds in the cluster (joined or dropped), with their claim ids. */
  *claims(): IterableIterator<readonly [string, string]> {
    for (const [name, connection] of this.names) {
      if (connection.state === ConnectionState.Joined || connection.state === ConnectionState.Dropped)
        yield [name, connection.claimId];
    }
  }

  /**
   * Relays a frame from a joined connection to `target`, wherever it is. A
   * login still claiming the name is invisible here (it may be refused): the
   * frame goes to whoever holds the name, through the backplane.
   */
  relay(from: Connection, type: RelayType, target: string, frame: string | Uint8Array): Connection | undefined {
    if (this.authorize !== undefined && this.refused(from, type, target)) return undefined;
    const local = this.names.get(target);
    if (local !== undefined) {
      const state = local.state;
      if (state === ConnectionState.Joined) {
        this.deliverLocal(from, type, local, frame);
        return local;
      }
      if (state === ConnectionState.Dropped || (state === ConnectionState.LoggingIn && local.resuming)) {
        this.park(from, type, local, frame);
        return undefined;
      }
    }
    const backplane = this.backplane;
    // A name with a lone surrogate is held nowhere (names must be well-formed), and UTF-8 on the
    // way to the backplane would turn it into another name (U+FFFD). A name being handed over to
    // another node, or claimed by a login here, goes through the backplane, which delivers it
    // wherever the name is.
    if (backplane === undefined || !isWellFormed(target)) {
      from.fail(ErrorCode.PeerNotFound, `Peer not found: ${target}`, type, target);
      return;
    }
    this.counters.relays[type].crossNode++;
    // Recorded as it is sent, in the order of the sender's relays: the sender may close before Redis says
    // the offer was delivered, and its partners must include the target then (its node comes with that answer).
    this.recordCall(from, type, target, null);
    const done = (result: ForwardResult) => this.forwarded(from, type, target, result);
    if (backplane.forwardRelay !== undefined) {
      backplane.forwardRelay(type, from.name, target, frame, done);
      return;
    }
    // Envelopes carry text; fast-path bytes live only until the next relay.
    const text = typeof frame === 'string' ? frame : decodeUtf8(frame);
    backplane
      .forward({ kind: type, from: from.name, fromNode: backplane.nodeId, to: target, frame: text })
      .then(done, (error: unknown) => {
        this.reportError(error);
        done(UNAVAILABLE);
      });
  }

  /** The outcome of a relay to another node: the sender hears a failure; a delivery records the call. */
  private forwarded(from: Connection, type: RelayType, target: string, result: ForwardResult): void {
    // Told from the backplane's own loop over a batch: a throwing listener must not cut it short.
    try {
      const calling = type === 'offer' || type === 'answer';
      // Where the call's partner is, now known; a partner found nowhere is in no call.
      if (calling && result.delivered) from.partnerMoved(target, result.node);
      else if (calling && !result.delivered && result.reason === 'not-found') from.endCall(target);
      if (from.state !== ConnectionState.Joined || result.delivered) return;
      if (result.reason === 'not-found') from.fail(ErrorCode.PeerNotFound, `Peer not found: ${target}`, type, target);
      else
        from.fail(ErrorCode.BackplaneUnavailable, `Cannot reach ${target}: the cluster backplane is unavailable`, type, target);
    } catch (error) {
      this.reportError(error);
    }
  }

  /** Relays a frame between two joined connections of this node (the byte path's shortcut to its last target). */
  relayLocal(from: Connection, type: RelayType, to: Connection, frame: string | Uint8Array): void {
    if (this.authorize !== undefined && this.refused(from, type, to.name)) return;
    this.deliverLocal(from, type, to, frame);
  }

  private deliverLocal(from: Connection, type: RelayType, to: Connection, frame: string | Uint8Array): void {
    this.counters.relays[type].local++;
    if (!to.deliver(frame)) {
      from.fail(ErrorCode.PeerCongested, `${to.name} is not reading fast enough: the message was dropped`, type, to.name);
      return;
    }
    this.recordCall(from, type, to.name, null);
    this.recordCall(to, type, from.name, null);
  }

  /** A relay for a dropped peer: parked until it resumes; the sender hears `peer-congested` when its bounds are reached. */
  private park(from: Connection, type: RelayType, to: Connection, frame: string | Uint8Array): void {
    const parked = to.park(frame, from.name, null, type);
    // Held for a resume being decided, it counts once its fate is known (delivered here or rerouted).
    if (!parked || to.state === ConnectionState.Dropped) this.counters.relays[type].local++;
    if (!parked) {
      from.fail(
        ErrorCode.PeerCongested,
        `${to.name} is reconnecting and too much is held for it: the message was dropped`,
        type,
        to.name,
      );
      return;
    }
    this.recordCall(from, type, to.name, null);
    this.recordCall(to, type, from.name, null);
  }

  /**
   * A login that parked relays for `name` while it tried to resume it was
   * refused: they go on, in order, to whoever holds the name (a refused
   * resume must not make the real holder unreachable, nor tell `peer-gone`).
   */
  reroute(name: string, parked: readonly Parked[]): void {
    for (const { from, fromNode, kind, frame } of parked) {
      // Only this node's peers relay to a name being resumed here (see relay()).
      if (fromNode !== null || kind === 'message') continue;
      const sender = this.names.get(from);
      if (sender?.state === ConnectionState.Joined) this.relay(sender, kind, name, frame);
    }
  }

  /** A dropped peer did not resume: each sender of a parked relay hears `peer-gone` once. */
  expired(gone: Connection, parked: readonly Parked[]): void {
    this.expiredFor(gone.name, parked);
  }

  private expiredFor(name: string, parked: readonly Parked[]): void {
    const told = new Set<string>();
    for (const { from, fromNode, kind } of parked) {
      if (kind === 'leave' || kind === 'message' || from === '') continue;
      const key = `${fromNode ?? ''}\t${from}`;
      if (told.has(key)) continue;
      told.add(key);
      const message = `${name} did not come back in time: a message held for it was not delivered`;
      if (fromNode === null) {
        const sender = this.names.get(from);
        if (sender?.state === ConnectionState.Joined) sender.fail(ErrorCode.PeerGone, message, kind, name);
      } else {
        this.tellRemote(from, encodeError(ErrorCode.PeerGone, message, kind, name));
      }
    }
  }

  /**
   * A resume granted by another node whose connection closed before it joined: the peer is gone
   * after all, so its partners hear `leave` and the senders of its held relays `peer-gone`.
   */
  abandonGrant(name: string, grant: ResumeGrant): void {
    const backplane = this.backplane;
    const nameJson = JSON.stringify(name);
    for (const [partner, node] of grant.partners) {
      const local = node === backplane?.nodeId ? this.names.get(partner) : undefined;
      if (local !== undefined) {
        local.endCall(name);
        if (local.state === ConnectionState.Joined) local.send(encodeLeave(nameJson));
        else if (local.state === ConnectionState.Dropped) local.holdLeave(encodeLeave(nameJson), name, null);
      } else if (backplane !== undefined) {
        backplane
          .forward({ kind: 'leave', from: name, fromNode: backplane.nodeId, to: partner, frame: encodeLeave(nameJson) })
          .catch((error: unknown) => this.reportError(error));
      }
    }
    const parked: Parked[] = grant.parked.map((envelope) => ({
      frame: envelope.frame,
      from: envelope.from,
      fromNode: envelope.fromNode === backplane?.nodeId ? null : envelope.fromNode,
      kind: envelope.kind === 'moved' ? 'message' : envelope.kind,
    }));
    this.expiredFor(name, parked);
  }

  /** Sends a frame of the hub's own to a peer on another node. */
  private tellRemote(to: string, frame: string): void {
    const backplane = this.backplane;
    if (backplane === undefined) return;
    backplane
      .forward({ kind: 'message', from: '', fromNode: backplane.nodeId, to, frame })
      .catch((error: unknown) => this.reportError(error));
  }

  /** An envelope from another node: hand it to the local peer. */
  deliver(envelope: Envelope): boolean {
    const local = this.names.get(envelope.to);
    if (envelope.kind === 'moved') {
      // A call partner resumed on another node: that is where its `leave` will come from.
      local?.partnerMoved(envelope.from, envelope.fromNode);
      return local !== undefined;
    }
    if (local?.state === ConnectionState.Transferring) {
      // Sent before the name moved: on to wherever it is now (as text: it may wait for the move).
      const { kind, from, fromNode, to, frame } = envelope;
      this.backplane?.forward({ kind, from, fromNode, to, frame }).catch((error: unknown) => this.reportError(error));
      return true;
    }
    // A login here whose claim the cluster has made (it routed the envelope here) but whose answer is still on
    // its way: held for it like a resuming peer's, sent right after the login reply, or on to the name's holder
    // if the login fails. Dropped, it would be lost while its sender heard it was delivered.
    if (local?.state === ConnectionState.Dropped || local?.state === ConnectionState.LoggingIn) {
      if (!local.park(envelope.frame, envelope.from, envelope.fromNode, envelope.kind) && envelope.kind !== 'message') {
        this.tellRemote(
          envelope.from,
          encodeError(
            ErrorCode.PeerCongested,
            `${envelope.to} is ${local.state === ConnectionState.Dropped ? 'reconnecting' : 'logging in'} and too much is held for it: the message was dropped`,
            envelope.kind,
            envelope.to,
          ),
        );
      } else if (envelope.kind !== 'message') {
        this.recordCall(local, envelope.kind, envelope.from, envelope.fromNode);
      }
      return true;
    }
    if (local === undefined || local.state !== ConnectionState.Joined) return false;
    // A `leave` always goes through: it is small, and a partner that misses it keeps a dead call.
    if (envelope.kind === 'leave') local.send(envelope.frame);
    else if (!local.deliver(envelope.bytes ?? envelope.frame)) {
      // Dropped like a local relay to a congested peer; the sender, on its node, is told.
      if (envelope.kind !== 'message' && this.backplane !== undefined) {
        const error = encodeError(
          ErrorCode.PeerCongested,
          `${envelope.to} is not reading fast enough: the message was dropped`,
          envelope.kind,
          envelope.to,
        );
        this.tellRemote(envelope.from, error);
      }
      return true;
    }
    this.counters.relaysFromCluster++;
    if (envelope.kind !== 'message') this.recordCall(local, envelope.kind, envelope.from, envelope.fromNode);
    return true;
  }

  /** Tells every call partner of a departing peer `leave`, here or on other nodes. */
  notifyPartners(gone: Connection): void {
    const partners = gone.takeCalls();
    if (partners === undefined) return;
    const frame = encodeLeave(gone.nameJson);
    for (const [name, node] of partners) {
      if (node === null) {
        const local = this.names.get(name);
        if (local === undefined || local.state === ConnectionState.Transferring) {
          // It may have resumed on another node just now: the backplane finds it, if anywhere.
          this.backplane
            ?.forward({ kind: 'leave', from: gone.name, fromNode: this.backplane.nodeId, to: name, frame })
            .catch((error: unknown) => this.reportError(error));
          continue;
        }
        local.endCall(gone.name);
        if (local.state === ConnectionState.Joined) local.send(frame);
        else if (local.state === ConnectionState.Dropped) local.holdLeave(frame, gone.name, null);
      } else if (this.backplane !== undefined) {
        this.backplane
          .forward({ kind: 'leave', from: gone.name, fromNode: this.backplane.nodeId, to: name, frame })
          .catch((error: unknown) => this.reportError(error));
      }
    }
  }

  /** A peer resumed here from another node: its partners learn where it is now. */
  movedHere(connection: Connection): void {
    const backplane = this.backplane;
    for (const [name, node] of connection.partners ?? []) {
      if (node === null) {
        this.names.get(name)?.addPartner(connection.name, null);
      } else if (backplane !== undefined) {
        backplane
          .forward({ kind: 'moved', from: connection.name, fromNode: backplane.nodeId, to: name, frame: '' })
          .catch((error: unknown) => this.reportError(error));
      }
    }
  }

  /** Node `nodeId` died: every local peer in a call with one of its peers hears `leave` from it. */
  nodeDown(nodeId: string): void {
    for (const connection of this.names.values()) {
      const partners = connection.partners;
      if (partners === undefined) continue;
      for (const [name, node] of partners) {
        if (node !== nodeId) continue;
        connection.endCall(name);
        const leave = encodeLeave(JSON.stringify(name));
        if (connection.state === ConnectionState.Joined) connection.send(leave);
        else if (connection.state === ConnectionState.Dropped) connection.holdLeave(leave, name, nodeId);
      }
    }
  }

  /** Ids of the other nodes holding call partners of local peers. */
  remoteNodes(): Set<string> {
    const nodes = new Set<string>();
    for (const connection of this.names.values()) {
      const partners = connection.partners;
      if (partners === undefined) continue;
      for (const node of partners.values()) if (node !== null) nodes.add(node);
    }
    return nodes;
  }

  /** offer/answer open a call between two names; leave ends it. */
  private recordCall(connection: Connection, type: RelayType, other: string, node: PartnerNode): void {
    if (type === 'offer' || type === 'answer') connection.addPartner(other, node);
    else if (type === 'leave') connection.endCall(other);
  }
}
