import { CloseCode } from '../protocol/close-codes.js';
import { checkName } from '../protocol/names.js';
import type { AdapterPort } from './adapter-port.js';
import { ConnectionState } from './connection-state.js';
import { HubClosedError, InvalidArgumentError } from './errors.js';
import type { HubLifecycle } from './hub-lifecycle.js';
import type { HubParts } from './hub-parts.js';
import { describeValue } from './option-check.js';
import type { ResolvedHubOptions } from './options.js';
import { type DeliveryResult, closeRemote } from './remote-disconnect.js';
import type { Router } from './router.js';
import type { Rooms } from './rooms/rooms.js';

/**
 * What the host asks of a hub about one peer or one room: send it a message,
 * disconnect it, put it in a room or take it out, broadcast to a room, list
 * members. Arguments are checked here; each call finds the peer on this node
 * or goes on, through the backplane, to the node that holds it.
 * `SignallingHub` documents each one and hands it on.
 */
export class HostCalls {
  private readonly options: ResolvedHubOptions;
  private readonly router: Router;
  private readonly roomService: Rooms;
  private readonly lifecycle: HubLifecycle;
  private readonly port: Pick<AdapterPort, 'sendToNode' | 'reportError'>;

  constructor(parts: HubParts) {
    this.options = parts.options;
    this.router = parts.router;
    this.roomService = parts.rooms;
    this.lifecycle = parts.lifecycle;
    this.port = parts.port;
  }

  /** See `SignallingHub.deliver()`. */
  async deliver(name: string, message: object): Promise<DeliveryResult> {
    if (this.lifecycle.closing) throw new HubClosedError();
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', describeValue(name));
    let frame: string;
    try {
      if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new TypeError('not an object');
      frame = JSON.stringify(message);
    } catch (error) {
      throw new InvalidArgumentError('message', 'a JSON-serialisable object', describeValue(message), error);
    }
    const local = this.router.holder(name);
    if (local?.state === ConnectionState.Joined) return local.deliver(frame) ? 'delivered' : 'congested';
    if (local?.state === ConnectionState.Dropped) return local.park(frame, '', null, 'message') ? 'held' : 'congested';
    const backplane = this.options.backplane;
    // A login still claiming the name here is not its holder: the backplane finds the holder, if any.
    if (backplane === undefined || (local !== undefined && (local.state !== ConnectionState.LoggingIn || local.resuming)))
      return 'not-found';
    const result = await backplane.forward({ kind: 'message', from: '', fromNode: backplane.nodeId, to: name, frame });
    return result.delivered ? 'delivered' : result.reason;
  }

  /** See `SignallingHub.disconnect()`. */
  disconnect(name: string, reason: string): boolean {
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', describeValue(name));
    if (typeof reason !== 'string') throw new InvalidArgumentError('reason', 'a string', describeValue(reason));
    if (this.closeLocal(name, reason, false)) return true;
    if (this.options.backplane !== undefined && !this.lifecycle.closing)
      closeRemote(this.options.backplane, this.port.sendToNode, name, reason, false).catch(this.port.reportError);
    return false;
  }

  /** See `SignallingHub.disconnectAnywhere()`. */
  async disconnectAnywhere(name: string, reason: string): Promise<boolean> {
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', describeValue(name));
    if (typeof reason !== 'string') throw new InvalidArgumentError('reason', 'a string', describeValue(reason));
    if (this.closeLocal(name, reason, false)) return true;
    if (this.options.backplane === undefined || this.lifecycle.closing) return false;
    return closeRemote(this.options.backplane, this.port.sendToNode, name, reason, false);
  }

  /** Closes the local holder of `name` (joined or dropped): 4409 for a replacement, else 4403. */
  closeLocal(name: string, reason: string, replace: boolean): boolean {
    const connection = this.router.holder(name);
    // A dropped peer's reservation ends too.
    if (connection?.state !== ConnectionState.Joined && connection?.state !== ConnectionState.Dropped) return false;
    if (replace) connection.close(CloseCode.Replaced, reason, 'replaced');
    else connection.close(CloseCode.Forbidden, reason, 'disconnected');
    return true;
  }

  /** See `SignallingHub.join()`. */
  join(name: string, room: string): Promise<boolean> {
    this.checkRoomCall(name, room);
    if (this.holdsPeer(name)) return this.roomService.hostJoin(name, room);
    return this.roomService.remote('join', name, room);
  }

  /** See `SignallingHub.part()`. */
  part(name: string, room: string): Promise<boolean> {
    this.checkRoomCall(name, room);
    if (this.holdsPeer(name)) return Promise.resolve(this.roomService.hostPart(name, room));
    return this.roomService.remote('part', name, room);
  }

  /** Whether a peer of this node (logged in, or dropped and resumable) holds `name`. */
  private holdsPeer(name: string): boolean {
    const state = this.router.holder(name)?.state;
    return state === ConnectionState.Joined || state === ConnectionState.Dropped;
  }

  /** See `SignallingHub.broadcast()`. */
  broadcast(room: string, data: unknown): Promise<void> {
    if (this.lifecycle.closing) throw new HubClosedError();
    if (typeof room !== 'string') throw new InvalidArgumentError('room', 'a string', describeValue(room));
    let dataJson: string | undefined;
    try {
      dataJson = JSON.stringify(data);
    } catch (error) {
      throw new InvalidArgumentError('data', 'a JSON-serialisable value', describeValue(data), error);
    }
    if (dataJson === undefined) throw new InvalidArgumentError('data', 'a JSON-serialisable value', describeValue(data));
    this.roomService.hostBroadcast(room, dataJson);
    return Promise.resolve();
  }

  /** See `SignallingHub.members()`. */
  members(room: string): Promise<string[]> {
    if (typeof room !== 'string') throw new InvalidArgumentError('room', 'a string', describeValue(room));
    return this.roomService.members(room);
  }

  private checkRoomCall(name: string, room: string): void {
    if (this.lifecycle.closing) throw new HubClosedError();
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', describeValue(name));
    const invalid = typeof room === 'string' ? checkName(room, this.options.maxNameLength) : 'a string';
    if (invalid !== undefined) throw new InvalidArgumentError('room', 'a room name (the name rules apply)', describeValue(room));
  }
}
