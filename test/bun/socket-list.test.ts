import { describe, expect, it } from 'vitest';
import { type Linked, SocketList } from '../../src/transports/bun/socket-list.js';

class Item implements Linked<Item> {
  prev: Item | undefined = undefined;
  next: Item | undefined = undefined;
  constructor(readonly id: number) {}
}

const ids = (list: SocketList<Item>) => [...list].map((item) => item.id);

describe('SocketList (the Bun handler’s open sockets)', () => {
  it('keeps the order of adding, counts, and ignores a second add or delete', () => {
    const list = new SocketList<Item>();
    const items = [1, 2, 3, 4].map((id) => new Item(id));
    for (const item of items) list.add(item);
    list.add(items[1]!);
    expect(ids(list)).toEqual([1, 2, 3, 4]);
    expect(list.size).toBe(4);
    expect(list.delete(items[0]!)).toBe(true);
    expect(list.delete(items[3]!)).toBe(true);
    expect(list.delete(items[3]!)).toBe(false);
    expect(ids(list)).toEqual([2, 3]);
    expect(list.size).toBe(2);
    list.add(items[0]!);
    expect(ids(list)).toEqual([2, 3, 1]);
    for (const item of items) list.delete(item);
    expect(ids(list)).toEqual([]);
    expect(list.size).toBe(0);
    list.add(items[2]!);
    expect(ids(list)).toEqual([3]);
  });

  it('goes on past the member it stands on when that one is deleted (a heartbeat terminating a socket)', () => {
    const list = new SocketList<Item>();
    const items = [1, 2, 3, 4, 5].map((id) => new Item(id));
    for (const item of items) list.add(item);
    const seen: number[] = [];
    for (const item of list) {
      seen.push(item.id);
      if (item.id % 2 === 1) list.delete(item);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(ids(list)).toEqual([2, 4]);
    expect(list.size).toBe(2);
  });
});
