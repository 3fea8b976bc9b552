/** How {@link closeWithTimeout} closes one connection of a transport. */
export interface Closer<T> {
  /**
   * Starts a clean close of `item`; `closed` must be called once it is closed
   * (it may be called at once, and more than once).
   */
  close(item: T, closed: () => void): void;
  /** Drops `item` at once (it did not finish its clean close in time); its `closed` must follow. */
  terminate(item: T): void;
}

/**
 * Closes every one of `items` cleanly and resolves once all are closed;
 * those still open after `timeout` ms are terminated. Driven by each item's
 * own close, not by polling, so it resolves as soon as the last one goes.
 */
export function closeWithTimeout<T>(items: Iterable<T>, closer: Closer<T>, timeout: number): Promise<void> {
  const open = new Set(items);
  if (open.size === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      for (const item of [...open]) closer.terminate(item);
    }, timeout);
    for (const item of [...open]) {
      closer.close(item, () => {
        if (!open.delete(item) || open.size > 0) return;
        clearTimeout(timer);
        resolve();
      });
    }
  });
}
