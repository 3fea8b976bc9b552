/** The part of `net.Socket` that batching needs. */
export interface CorkableSocket {
  cork(): void;
  uncork(): void;
  readonly writableCorked: number;
}

const corked: CorkableSocket[] = [];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  for (let i = 0; i < corked.length; i++) corked[i]!.uncork();
  corked.length = 0;
}

/**
 * Corks `socket` until the end of the current tick, so that every frame
 * written to it in this tick leaves in one `writev` syscall. A burst of
 * candidates read in one chunk is relayed as one write per target.
 */
export function coalesceWrites(socket: CorkableSocket): void {
  if (socket.writableCorked !== 0) return;
  socket.cork();
  corked.push(socket);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(flush);
  }
}
