/** The part of `net.Socket` that batching needs. */
export interface CorkableSocket {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array): boolean;
  readonly writableCorked: number;
}

const corked: CorkableSocket[] = [];

function flush(): void {
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
  if (corked.push(socket) === 1) process.nextTick(flush);
}

/**
 * `text` as one unmasked, final WebSocket text frame (RFC 6455 §5.2), header
 * and UTF-8 payload in one buffer: one stream write instead of the two (and
 * the per-send bookkeeping) of `ws`'s `send()`.
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN + text opcode
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, 'utf8');
  return frame;
}
