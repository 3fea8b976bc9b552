import { RoomError } from './errors.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: RoomError): void;
}

/** What the client's rooms need from the client. */
export interface RoomsHost {
  /** Sends a frame now; false when the client is not logged in on an open connection. */
  send(frame: string): boolean;
  joined(room: string, name: string): void;
  parted(room: string, name: string): void;
  broadcast(room: string, from: string | undefined, data: unknown): void;
}

/**
 * The client's side of rooms: the rooms it is in, the `join()` and `part()`
 * waiting for their reply, and the room frames the hub sends. After a fresh
 * login (a resume that found nothing to resume) it joins its rooms again.
 */
export class ClientRooms {
  /** Rooms this client is in, in the order it joined them. */
  readonly current = new Set<string>();
  private readonly joins = new Map<string, Array<Waiter<string[]>>>();
  private readonly parts = new Map<string, Array<Waiter<void>>>();

  constructor(private readonly host: RoomsHost) {}

  join(room: string): Promise<string[]> {
    return this.request(this.joins, room, JSON.stringify({ type: 'join', room }));
  }

  part(room: string): Promise<void> {
    return this.request(this.parts, room, JSON.stringify({ type: 'part', room }));
  }

  broadcast(room: string, data: unknown): boolean {
    return this.host.send(JSON.stringify({ type: 'broadcast', room, data }));
  }

  /** A frame from the hub; true when it was a room frame (handled here). */
  receive(message: Record<string, unknown>): boolean {
    const room = message.room;
    if (typeof room !== 'string') return false;
    switch (message.type) {
      case 'join':
        if (message.success === true) {
          this.current.add(room);
          const members = Array.isArray(message.members) ? message.members.filter((m) => typeof m === 'string') : [];
          this.settle(this.joins, room, (waiter) => waiter.resolve(members));
        } else {
          const reason = typeof message.reason === 'string' ? message.reason : 'refused';
          const text = typeof message.message === 'string' ? message.message : `Joining ${room} was refused`;
          this.settle(this.joins, room, (waiter) => waiter.reject(new RoomError(reason, room, text)));
        }
        return true;
      case 'part':
        if (message.success !== true) return false;
        this.current.delete(room);
        this.settle(this.parts, room, (waiter) => waiter.resolve());
        return true;
      case 'joined':
      case 'parted':
        if (typeof message.name !== 'string') return false;
        if (message.type === 'joined') this.host.joined(room, message.name);
        else this.host.parted(room, message.name);
        return true;
      case 'broadcast':
        this.host.broadcast(room, typeof message.name === 'string' ? message.name : undefined, message.data);
        return true;
      default:
        return false;
    }
  }

  /** An `error` reply; true when it answered a pending `part()` (`not-in-room`). */
  failed(request: unknown, code: string, target: unknown, message: string): boolean {
    if (request !== 'part' || typeof target !== 'string' || !this.parts.has(target)) return false;
    this.current.delete(target);
    this.settle(this.parts, target, (waiter) => waiter.reject(new RoomError(code, target, message)));
    return true;
  }

  /** A fresh login (nothing resumed): the hub forgot this client's rooms, so it joins them again. */
  rejoin(): void {
    for (const room of this.current) this.host.send(JSON.stringify({ type: 'join', room }));
  }

  /** The connection is gone: what waits for a reply fails; for good (`forGood`), the rooms are forgotten too. */
  closed(forGood: boolean): void {
    const fail = (room: string) => new RoomError('connection-closed', room, 'The connection closed before the reply');
    for (const room of [...this.joins.keys()]) this.settle(this.joins, room, (waiter) => waiter.reject(fail(room)));
    for (const room of [...this.parts.keys()]) this.settle(this.parts, room, (waiter) => waiter.reject(fail(room)));
    if (forGood) this.current.clear();
  }

  private request<T>(waiting: Map<string, Array<Waiter<T>>>, room: string, frame: string): Promise<T> {
    if (!this.host.send(frame)) return Promise.reject(new RoomError('not-logged-in', room, 'Not logged in: call login() first'));
    return new Promise((resolve, reject) => {
      const list = waiting.get(room);
      if (list === undefined) waiting.set(room, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
  }

  private settle<T>(waiting: Map<string, Array<Waiter<T>>>, room: string, each: (waiter: Waiter<T>) => void): void {
    const list = waiting.get(room);
    if (list === undefined) return;
    waiting.delete(room);
    for (const waiter of list) each(waiter);
  }
}
