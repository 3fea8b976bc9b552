/**
 * The wire format of a node link (a TCP connection from one hub node to another, see
 * node-links.ts): frames of `[u32 length][u8 type][payload]`, the length counting the type
 * and the payload, big-endian.
 *
 * - `HELLO` (dialling node → listening node): JSON `{from, to, secret}`, the dialling
 *   node's id, the node it means to reach and the secret that node published with its lease.
 * - `WELCOME` (listening → dialling): empty; the link is open.
 * - `BATCH` (dialling → listening): `[u32 seq][u16 n][n bytes: names, tab-separated]` then a
 *   batch of byte-framed envelopes (envelope-codec.ts). The names are targets the listening
 *   node refused on this link before and that the dialling node now sends here again.
 * - `RESULT` (listening → dialling): `[u32 seq][u16 count][count × u16]`, the indexes of the
 *   batch's envelopes that were not delivered (refused).
 */
export const HELLO = 1;
export const WELCOME = 2;
export const BATCH = 3;
export const RESULT = 4;

/** Largest frame either side reads (a batch is at most about 1 MiB, see the forward batcher): more closes the link. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** A frame of `type` with `head` (small, copied) followed by `body` (may be large: written as it is). */
export function frameHead(type: number, headBytes: number, bodyBytes: number): Buffer {
  const head = Buffer.allocUnsafe(5 + headBytes);
  head.writeUInt32BE(1 + headBytes + bodyBytes, 0);
  head[4] = type;
  return head;
}

/** A `HELLO` or `WELCOME` frame. */
export function controlFrame(type: typeof HELLO | typeof WELCOME, json?: object): Buffer {
  const payload = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json));
  const head = frameHead(type, 0, payload.length);
  return Buffer.concat([head, payload]);
}

/** The head of a `BATCH` frame; the batch's bytes follow it. */
export function batchHead(seq: number, cleared: string, batchBytes: number): Buffer {
  const names = Buffer.byteLength(cleared);
  const head = frameHead(BATCH, 6 + names, batchBytes);
  head.writeUInt32BE(seq, 5);
  head.writeUInt16BE(names, 9);
  head.write(cleared, 11);
  return head;
}

/** A `RESULT` frame. */
export function resultFrame(seq: number, refused: readonly number[]): Buffer {
  const frame = frameHead(RESULT, 6 + 2 * refused.length, 0);
  frame.writeUInt32BE(seq, 5);
  frame.writeUInt16BE(refused.length, 9);
  for (let i = 0; i < refused.length; i++) frame.writeUInt16BE(refused[i]!, 11 + 2 * i);
  return frame;
}

/**
 * Cuts a byte stream into frames. A frame's payload is a view of what was read (a frame that came
 * in several reads is joined once, when its last byte is there).
 */
export class FrameReader {
  /** The start of a frame not whole yet, in the reads it came in. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes `chunks` must hold before a frame can be cut from them. */
  private need = 0;
  /** The largest frame accepted now (a link that has not said who it is gets small ones only). */
  limit = MAX_FRAME_BYTES;

  /** Calls `frame` for each whole frame in what has come so far; false when a frame is too large (the link must close). */
  push(chunk: Buffer, frame: (type: number, payload: Buffer) => void): boolean {
    if (this.chunks.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered < this.need) return true;
      chunk = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let at = 0;
    while (chunk.length - at >= 4) {
      const length = chunk.readUInt32BE(at);
      if (length < 1 || length > this.limit) return false;
      if (chunk.length - at - 4 < length) break;
      frame(chunk[at + 4]!, chunk.subarray(at + 5, at + 4 + length));
      at += 4 + length;
    }
    if (at < chunk.length) {
      const rest = chunk.subarray(at);
      this.chunks = [rest];
      this.buffered = rest.length;
      this.need = rest.length >= 4 ? 4 + rest.readUInt32BE(0) : 4;
      if (this.need - 4 > this.limit) return false;
    }
    return true;
  }
}
