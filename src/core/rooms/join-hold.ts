import type { RoomRequestType } from '../../protocol/rooms.js';

type Held = Array<readonly [RoomRequestType, Record<string, unknown>]>;

/**
 * The room requests a connection sends while one of its joins is being
 * decided (an async `authorizeJoin`, or the cluster): held, in order, and
 * run once it is decided, so that a `broadcast` right after a `join` is not
 * answered `not-in-room`. Weak: a connection that goes leaves nothing.
 */
export class JoinHold<C extends object> {
  private readonly held = new WeakMap<C, Held>();

  /** A join of `connection` is being decided. */
  hold(connection: C): void {
    if (!this.held.has(connection)) this.held.set(connection, []);
  }

  /** Whether `connection` waits for a join. */
  waiting(connection: C): boolean {
    return this.held.has(connection);
  }

  /** Holds a request; false when `max` are held already (it is refused). */
  add(connection: C, type: RoomRequestType, fields: Record<string, unknown>, max: number): boolean {
    const held = this.held.get(connection)!;
    if (held.length >= max) return false;
    held.push([type, fields]);
    return true;
  }

  /** The join was decided: what was held, to run in order. */
  release(connection: C): Held | undefined {
    const held = this.held.get(connection);
    this.held.delete(connection);
    return held;
  }
}
