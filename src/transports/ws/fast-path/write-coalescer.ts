/** The part of `net.Socket` that batching needs. */
export interface CorkableSocket {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array): boolean;
  readonly writableLength: number;
}

/** A socket written to in corked batches, and the bytes it holds corked in this tick. */
export interface CorkedWriter {
  readonly raw: CorkableSocket;
  /** Bytes written to `raw` since this module corked it; 0 while it is not corked by it. */
  corkedBytes: number;
}

/**
 * Past this many bytes in one tick the socket is uncorked at once: the kernel
 * takes them now, so `writableLength` soon holds only what the client has not
 * read, not everything written in this tick (a burst of relays to a reader
 * must not look like a reader that stopped reading).
 */
export const MAX_CORKED_BYTES = 64 * 1024;

const corked: CorkedWriter[] = [];

function flush(): void {
  for (let i = 0; i < corked.length; i++) {
    const writer = corked[i]!;
    // Listed twice if it was uncorked early and corked again in the tick: uncork it once.
    if (writer.corkedBytes === 0) continue;
    writer.corkedBytes = 0;
    writer.raw.uncork();
  }
  corked.length = 0;
}

/**
 * Writes `frame` to the writer's socket, corked until the end of the current
 * tick (or until {@link MAX_CORKED_BYTES} are waiting), so that every frame
 * written to it in this tick leaves in one `writev` syscall. A burst of
 * candidates read in one chunk is relayed as one write per target.
 */
export function writeCorked(writer: CorkedWriter, frame: Uint8Array): void {
  const raw = writer.raw;
  if (writer.corkedBytes === 0) {
    raw.cork();
    if (corked.push(writer) === 1) process.nextTick(flush);
  }
  raw.write(frame);
  writer.corkedBytes += frame.length;
  if (writer.corkedBytes >= MAX_CORKED_BYTES) {
    writer.corkedBytes = 0;
    raw.uncork();
  }
}

/** Bytes queued on the writer's socket that it has offered to the kernel and the kernel has not taken. */
export function unsentBytes(writer: CorkedWriter): number {
  return Math.max(0, writer.raw.writableLength - writer.corkedBytes);
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
