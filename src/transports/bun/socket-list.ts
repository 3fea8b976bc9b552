/** What a {@link SocketList} threads through its members: two fields, instead of an entry in a `Set`. */
export interface Linked<T> {
  prev: T | undefined;
  next: T | undefined;
}

/**
 * The open sockets of one handler, as a list threaded through the sockets'
 * own objects (`ws.data`): an idle connection costs two fields here, where
 * a `Set` would cost an entry of several times that. Iterating it tolerates
 * the removal of the member it is at (a heartbeat terminating a socket).
 */
export class SocketList<T extends Linked<T>> {
  private head: T | undefined = undefined;
  private tail: T | undefined = undefined;
  /** Members now. */
  size = 0;

  /** Adds `item` at the end (iteration goes in the order of adding, as a `Set`'s). */
  add(item: T): void {
    if (this.has(item)) return;
    const tail = this.tail;
    item.prev = tail;
    item.next = undefined;
    if (tail === undefined) this.head = item;
    else tail.next = item;
    this.tail = item;
    this.size++;
  }

  /** Takes `item` out; false when it was not in. */
  delete(item: T): boolean {
    if (!this.has(item)) return false;
    const { prev, next } = item;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    // `next` stays, so that an iteration standing on `item` goes on from it.
    item.prev = undefined;
    this.size--;
    return true;
  }

  private has(item: T): boolean {
    return item.prev !== undefined || this.head === item;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let item = this.head; item !== undefined;) {
      const next = item.next;
      yield item;
      item = next;
    }
  }
}
