/** The part of `net.Socket` that batching needs. */
export interface CorkableSocket {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array): boolean;
  readonly writableCorked: number;
  readonly writableLength: number;
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
 * `message` (text, or its UTF-8 bytes) as one unmasked, final WebSocket text
 * frame (RFC 6455 §5.2), header and payload in one buffer: one stream write
 * instead of the two (and the per-send bookkeeping) of `ws`'s `send()`.
 */
export function textFrame(message: string | Uint8Array): Buffer {
  const text = typeof message === 'string';
  const length = text ? Buffer.byteLength(message) : message.length;
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
  if (text) frame.write(message, header, 'utf8');
  else frame.set(message, header);
  return frame;
}
