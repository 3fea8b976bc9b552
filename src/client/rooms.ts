import type { EventEmitter } from 'eventemitter3';
import type { OutgoingRequest } from './outbox.js';
import { RoomError } from './errors.js';
import type { SignallingClientEvents } from './types.js';

/** Frame types about rooms the hub sends a client. */
const roomFrameTypes: ReadonlySet<unknown> = new Set(['join', 'part', 'joined', 'parted', 'broadcast']);

/** A room frame from the hub (the fields this side reads; each is checked before use). */
interface RoomFrame {
  type: string;
  room?: unknown;
  success?: unknown;
  members?: unknown;
  reason?: unknown;
  message?: unknown;
  name?: unknown;
  data?: unknown;
}

/** Whether a parsed server frame is about rooms (handled by {@link ClientRooms}). */
export function isRoomFrame(message: { type?: unknown }): boolean {
  return roomFrameTypes.has(message.type);
}

/** What rooms need from their client. */
export interface ClientRoomsHost {
  /** Whether a frame can go out now (logged in, socket open). */
  canSend(): boolean;
  send(frame: string): void;
  /** Sends a broadcast through the outbox (held while reconnecting, paced). */
  relay(message: OutgoingRequest): void;
  emit: EventEmitter<SignallingClientEvents>['emit'];
}

interface Waiter<T = string[]> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * The client's side of rooms: the rooms it is in, the joins waiting for their
 * reply, and what to send again after a reconnection. A resumed session kept
 * its rooms at the hub, so only what the hub may not have seen is sent again
 * (joins still unanswered, parts made meanwhile); a fresh session (the resume
 * expired) joins every room again. Joins and parts go out directly rather than
 * through the outbox: they are sent again at the next login anyway, and a
 * join is a no-op for a member.
 */
export class ClientRooms {
  /** Rooms the hub confirmed (in the order they were joined). */
  private readonly held = new Set<string>();
  /** Joins waiting for their reply, by room. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** Rooms being joined again after a fresh login. */
  private readonly rejoining = new Set<string>();
  /** Rooms parted while the connection was down: the hub learns it after a resume. */
  private readonly partLater = new Set<string>();
  /** Parts waiting for their reply, by room. */
  private readonly parting = new Map<string, Array<Waiter<void>>>();

  constructor(private readonly host: ClientRoomsHost) {}

  /** The rooms this client is in (confirmed by the hub), in the order they were joined. */
  get rooms(): ReadonlySet<string> {
    return this.held;
  }

  join(room: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const waiters = this.waiting.get(room);
      if (waiters !== undefined) {
        waiters.push({ resolve, reject });
        return;
      }
      this.waiting.set(room, [{ resolve, reject }]);
      this.partLater.delete(room);
      // Not sendable now: the next login sends it.
      this.sendNow(JSON.stringify({ type: 'join', room }));
    });
  }

  /**
   * Leaves `room` here at once; resolves when the hub confirms, or at once
   * while reconnecting (the hub learns it after the resume). A room the hub
   * says this client is not in rejects (`not-in-room`).
   */
  part(room: string): Promise<void> {
    const waiters = this.waiting.get(room);
    this.waiting.delete(room);
    this.rejoining.delete(room);
    const held = this.held.delete(room);
    for (const waiter of waiters ?? [])
      waiter.reject(new RoomError('parted', room, `part(${JSON.stringify(room)}) was called before the join reply`));
    if (held) this.host.emit('room-parted', { room, reason: 'part' });
    // A join that may have reached the hub is undone too: the hub handles join then part in order.
    const member = held || waiters !== undefined;
    if (!this.sendNow(JSON.stringify({ type: 'part', room }))) {
      if (!member) return Promise.reject(new RoomError('not-in-room', room, `Not in room: ${room}`));
      this.partLater.add(room);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const list = this.parting.get(room);
      if (list === undefined) this.parting.set(room, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
  }

  /** Whether a broadcast to `room` can be sent: a member, or a join is on its way (the hub keeps the order). */
  has(room: string): boolean {
    return this.held.has(room) || this.waiting.has(room);
  }

  /** `true` when sent now (or paced by `sendRate`), `false` when held for after the reconnection. */
  broadcast(room: string, data: unknown): boolean {
    const now = this.host.canSend();
    this.host.relay({ type: 'broadcast', room, data });
    return now;
  }

  /** A login succeeded: send again what the hub may not have (everything, when the session is fresh). */
  loggedIn(resumed: boolean): void {
    // Parts sent on the lost connection may not have arrived: sent again after a resume, answered now.
    for (const [room, waiters] of this.parting) {
      this.partLater.add(room);
      for (const waiter of waiters) waiter.resolve();
    }
    this.parting.clear();
    if (resumed) {
      for (const room of this.partLater) this.sendNow(JSON.stringify({ type: 'part', room }));
    } else {
      for (const room of this.held) if (!this.waiting.has(room)) this.rejoining.add(room);
    }
    this.partLater.clear();
    for (const room of new Set([...this.waiting.keys(), ...this.rejoining])) {
      this.sendNow(JSON.stringify({ type: 'join', room }));
    }
  }

  /** The session is over (closed, or given up): pending joins fail, the rooms are forgotten. */
  ended(message: string): void {
    const waiting = [...this.waiting];
    const parting = [...this.parting];
    this.waiting.clear();
    this.parting.clear();
    this.held.clear();
    this.rejoining.clear();
    this.partLater.clear();
    for (const [room, waiters] of waiting) {
      for (const waiter of waiters) waiter.reject(new RoomError('connection-closed', room, message));
    }
    for (const [room, waiters] of parting) {
      for (const waiter of waiters) waiter.reject(new RoomError('connection-closed', room, message));
    }
  }

  /** An `error` frame: one answering a join or a part fails it (e.g. `not-in-room`). */
  failed(request: string | undefined, target: string | undefined, code: string, message: string): void {
    if (target === undefined || (request !== 'join' && request !== 'part')) return;
    const pending: Map<string, Array<Waiter<never>>> = request === 'join' ? this.waiting : this.parting;
    const waiters = pending.get(target);
    pending.delete(target);
    for (const waiter of waiters ?? []) waiter.reject(new RoomError(code, target, message));
  }

  /** A room frame from the hub. */
  receive(frame: RoomFrame): void {
    const room = frame.room;
    if (typeof room !== 'string') return;
    switch (frame.type) {
      case 'join':
        return this.joinReply(room, frame);
      case 'joined':
      case 'parted':
        if (this.held.has(room) && typeof frame.name === 'string') {
          this.host.emit(frame.type, { room, name: frame.name });
        }
        return;
      case 'broadcast':
        if (this.held.has(room)) {
          this.host.emit('broadcast', { room, from: typeof frame.name === 'string' ? frame.name : undefined, data: frame.data });
        }
        return;
      case 'part': {
        // Already applied here: the reply settles the part() waiting for it.
        const waiters = this.parting.get(room);
        this.parting.delete(room);
        for (const waiter of waiters ?? []) waiter.resolve();
        return;
      }
    }
  }

  /** Sends `frame` when the connection allows; `false` when it does not (the next login sends what is needed). */
  private sendNow(frame: string): boolean {
    if (!this.host.canSend()) return false;
    this.host.send(frame);
    return true;
  }

  private joinReply(room: string, frame: RoomFrame): void {
    const waiters = this.waiting.get(room);
    const rejoined = this.rejoining.delete(room);
    if (waiters === undefined && !rejoined) return; // A duplicate, or a join undone by part() since.
    this.waiting.delete(room);
    if (frame.success === true) {
      const members = Array.isArray(frame.members) ? frame.members.filter((name) => typeof name === 'string') : [];
      this.held.add(room);
      this.host.emit('room-joined', { room, members: [...members], rejoined: rejoined && waiters === undefined });
      for (const waiter of waiters ?? []) waiter.resolve([...members]);
      return;
    }
    const reason = typeof frame.reason === 'string' ? frame.reason : 'forbidden';
    const error = new RoomError(reason, room, typeof frame.message === 'string' ? frame.message : `Join refused: ${reason}`);
    for (const waiter of waiters ?? []) waiter.reject(error);
    if (this.held.delete(room)) this.host.emit('room-parted', { room, reason: 'refused', error });
  }
}
