import { isUtf8 } from 'node:buffer';
import type { WebSocket } from 'ws';
import type { TransportSession } from '../../../core/transport.js';

const FIN_TEXT = 0x81;
const FIN_BINARY = 0x82;
const CLOSE = 0x88;
const MASKED = 0x80;
const OPEN = 1; // WebSocket.OPEN
/** Reads one cut frame may take before ws takes over the connection. */
const MAX_PIECES = 64;

/** What the reader keeps per connection; the ws transport carries it, so a connection costs no closures. */
export interface FrameReaderState {
  /** The socket read. */
  readonly socket: WebSocket;
  /** Where the frames go. */
  session: TransportSession;
  /** Largest frame the fast path takes; ws refuses larger ones (1009). */
  readonly maxPayload: number;
  /** A frame cut by the end of a chunk, waiting for the rest. */
  cutFrame: CutFrame | undefined;
  /** Set once ws must read the rest of the stream itself. */
  wsReads: boolean;
}

/**
 * The pieces of a frame that arrived over several reads. They are joined once
 * the frame is complete, not on every read: a frame trickled a byte at a time
 * costs linear, not quadratic, copying.
 */
interface CutFrame {
  pieces: Buffer[];
  bytes: number;
  /** Bytes the whole frame needs; 0 while its length is not known yet. */
  needs: number;
}

/** The part of ws's (private) `Receiver` that the reader takes over. */
interface WsReceiver {
  write: (this: WsReceiver, chunk: Buffer) => boolean;
  [READER]?: FrameReaderState;
}

const READER = Symbol('signalling-hub frame reader');

/** Writable's own `write`, which ws's Receiver inherits: the way into ws's parser. */
let wsWrite: ((this: WsReceiver, chunk: Buffer) => boolean) | undefined;

/**
 * Puts a fast path in front of ws's frame parser for one connection, for the
 * frames a signalling connection gets nearly all the time: complete, final,
 * masked text frames. Those are unmasked in place, checked for valid UTF-8 and
 * handed to the hub as bytes, without ws's per-frame stream bookkeeping,
 * copies and event hops (binary ones go to the hub too, which refuses them
 * with an error). Every other frame (ping, pong, close, fragments,
 * anything invalid or over `maxPayload`) is handed to ws's own parser,
 * unchanged and at a frame boundary, so ws answers it exactly as it would
 * have; after the first frame the fast path cannot take as a whole
 * (fragments, bad frames) ws reads everything, so message order is kept.
 *
 * It replaces the `write` method of ws's `Receiver` on this socket (which is
 * what ws's socket `data` listener calls), so ws's own listeners, close
 * handling and backpressure stay as they are. Returns false, changing
 * nothing, if this ws version has no such receiver. It relies on ws 8's
 * private `_receiver`, as the transport relies on `_socket`: `attach()` calls
 * it only for the ws versions the tests drove every kind of frame through
 * (see `FAST_PATH_WS_VERSIONS`).
 */
export function readFramesFast(state: FrameReaderState): boolean {
  const receiver = receiverOf(state.socket);
  if (receiver === undefined) return false;
  wsWrite ??= receiver.write;
  if (receiver.write !== wsWrite) return false;
  receiver[READER] = state;
  receiver.write = readFrames;
  return true;
}

/** Whether {@link readFramesFast} can take over this socket (ws's private receiver is where it expects it). */
export function canReadFramesFast(socket: WebSocket): boolean {
  const receiver = receiverOf(socket);
  return receiver !== undefined && (wsWrite === undefined || receiver.write === wsWrite);
}

function receiverOf(socket: WebSocket): WsReceiver | undefined {
  const receiver = (socket as unknown as { _receiver?: WsReceiver | null })._receiver;
  return receiver !== undefined && receiver !== null && typeof receiver.write === 'function' ? receiver : undefined;
}

/** Gives ws the rest of the stream from `rest` on. */
function handOver(receiver: WsReceiver, state: FrameReaderState, rest: Buffer): boolean {
  state.wsReads = true;
  return rest.length === 0 || wsWrite!.call(receiver, rest);
}

function readFrames(this: WsReceiver, input: Buffer): boolean {
  const state = this[READER]!;
  const socket = state.socket;
  if (state.wsReads) return wsWrite!.call(this, input);
  let chunk = input;
  const cut = state.cutFrame;
  if (cut !== undefined) {
    cut.pieces.push(input);
    cut.bytes += input.length;
    if (cut.bytes < cut.needs && socket.readyState === OPEN && cut.pieces.length <= MAX_PIECES) return true;
    chunk = Buffer.concat(cut.pieces, cut.bytes);
    state.cutFrame = undefined;
    // A frame trickled in tiny pieces: ws, with its own limits, reads this connection from here on.
    if (cut.bytes < cut.needs) return handOver(this, state, chunk);
  }
  // Closing (the hub closed it, or the host did): ws reads the rest, the peer's close frame included.
  if (socket.readyState !== OPEN) return handOver(this, state, chunk);
  const n = chunk.length;
  let i = 0;
  /** Bytes the frame cut at `i` needs in all; 0 while its header is incomplete. */
  let needs = 0;
  while (i < n) {
    if (n - i < 2) break;
    const first = chunk[i]!;
    const second = chunk[i + 1]!;
    let length = second & 0x7f;
    const data = first === FIN_TEXT || first === FIN_BINARY;
    const control = first >= CLOSE && first <= 0x8a && length <= 125;
    // Decided on the first two bytes, before any length bytes arrive: ws refuses what it must
    // (bad opcode or bits, unmasked) as soon as it has them, assembles fragments, and answers
    // 1009 to a 64-bit length (over any maxPayload here).
    // A close frame cannot carry 1 byte (a code is 2): ws refuses it on its length alone.
    if ((second & MASKED) === 0 || !(data || control) || length === 127 || (first === CLOSE && length === 1)) {
      return handOver(this, state, chunk.subarray(i));
    }
    let header = 6; // 2 + the 4-byte mask
    if (length === 126) {
      if (n - i < 4) break;
      length = chunk.readUInt16BE(i + 2);
      header = 8;
    }
    if (length > state.maxPayload) return handOver(this, state, chunk.subarray(i));
    const end = i + header + length;
    if (end > n) {
      needs = end - i;
      break;
    }
    if (control) {
      wsWrite!.call(this, chunk.subarray(i, end));
      // After a close frame ws reads nothing more (it stops listening to the socket).
      if (first === CLOSE) return true;
      i = end;
      continue;
    }
    const payload = chunk.subarray(i + header, end);
    unmask(payload, chunk, i + header - 4);
    if (first === FIN_BINARY) {
      state.session.receiveBinary();
    } else if (isUtf8(payload)) {
      state.session.receive(payload);
    } else {
      // Masked again, ws sees the frame as it came and closes with 1007.
      unmask(payload, chunk, i + header - 4);
      return handOver(this, state, chunk.subarray(i));
    }
    i = end;
    // The hub closed the connection while handling the frame.
    if (socket.readyState !== OPEN) return handOver(this, state, chunk.subarray(i));
  }
  if (i < n) {
    // Copied: the rest of a big chunk should not stay alive for one cut frame.
    const piece = Buffer.from(chunk.subarray(i));
    state.cutFrame = { pieces: [piece], bytes: piece.length, needs };
  }
  return true;
}

/** XORs `payload` with the 4-byte mask at `frame[at]` (RFC 6455 §5.3), in place. */
function unmask(payload: Buffer, frame: Buffer, at: number): void {
  const m0 = frame[at]!;
  const m1 = frame[at + 1]!;
  const m2 = frame[at + 2]!;
  const m3 = frame[at + 3]!;
  if ((m0 | m1 | m2 | m3) === 0) return;
  const n = payload.length;
  for (let k = 0; k < n; k += 4) {
    payload[k] = payload[k]! ^ m0;
    if (k + 1 < n) payload[k + 1] = payload[k + 1]! ^ m1;
    if (k + 2 < n) payload[k + 2] = payload[k + 2]! ^ m2;
    if (k + 3 < n) payload[k + 3] = payload[k + 3]! ^ m3;
  }
}
