/** A parsed frame from the hub. */
export type Frame = Record<string, unknown> & { type: string };

/**
 * Frames received by a test client, with waiting: `next()` takes the next
 * frame (matching a predicate, if given) already received or yet to come.
 * Every test client (ws, in memory) keeps one.
 */
export class Inbox {
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }> = [];

  push(frame: Frame): void {
    const index = this.waiters.findIndex((waiter) => waiter.match(frame));
    if (index === -1) {
      this.frames.push(frame);
      return;
    }
    const [waiter] = this.waiters.splice(index, 1);
    waiter!.resolve(frame);
  }

  next(match: (frame: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const index = this.frames.findIndex(match);
    if (index !== -1) return Promise.resolve(this.frames.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`no matching frame within ${timeoutMs} ms; inbox: ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      const done = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.waiters.push({ match, resolve: done });
    });
  }
}
