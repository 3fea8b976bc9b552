import type { NamePage } from '../core/backplane.js';
import { InvalidArgumentError } from '../core/errors.js';

/** Most names one `Backplane.namePage` page may ask for (the hub's `peerListPageSize` is at most this too). */
export const MAX_NAME_PAGE = 10_000;

/**
 * Picks one page of names out of names offered in any order (a bus reads its
 * registry in its own order, e.g. SSCAN's): the `limit` smallest after
 * `after`, in code-unit order. It holds at most about twice the limit at any
 * time, however many names it is offered.
 */
export class NamePicker {
  private kept: string[] = [];
  /** What is kept past it before the smallest are picked (one more than the limit tells whether more follow). */
  private readonly room: number;

  constructor(
    private readonly after: string,
    private readonly limit: number,
  ) {
    this.room = 2 * (limit + 1);
  }

  offer(name: string): void {
    if (name <= this.after) return;
    if (this.kept.push(name) >= this.room) this.trim();
  }

  /** The page: the smallest names kept, and whether more were offered. */
  page(): NamePage {
    this.trim();
    const more = this.kept.length > this.limit;
    return { names: more ? this.kept.slice(0, this.limit) : this.kept, more };
  }

  private trim(): void {
    const sorted = [...new Set(this.kept)].sort(byCodeUnits);
    if (sorted.length > this.limit + 1) sorted.length = this.limit + 1;
    this.kept = sorted;
  }
}

export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks a listing's arguments: `after` a string, `limit` an integer from 1 to {@link MAX_NAME_PAGE}. */
export function checkNamePage(after: unknown, limit: unknown): void {
  if (typeof after !== 'string') throw new InvalidArgumentError('after', 'a string', String(after));
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_NAME_PAGE) {
    throw new InvalidArgumentError('limit', `an integer from 1 to ${MAX_NAME_PAGE}`, String(limit));
  }
}
