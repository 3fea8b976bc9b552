import { type Socket, connect } from 'node:net';
import { FrameReader, HELLO, RESULT, WELCOME, batchHead, controlFrame } from './frames.js';
import { NodeLinkError } from './errors.js';

/** Where a node listens for links, as it published it with its lease. */
export interface LinkAddress {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
}

/** What a batch sent on a link hears: the indexes of its envelopes the far node refused, or why the link failed. */
export type LinkAnswer = (refused: readonly number[] | NodeLinkError) => void;

interface InFlight {
  readonly seq: number;
  readonly bytes: number;
  readonly sentAt: number;
  readonly answer: LinkAnswer;
}

/**
 * The dialling end of a link to one other node (link-server.ts is the other end). Batches are
 * written in the order given and answered in that order; a batch not answered within `timeout`
 * ms, a lost connection or a protocol error closes the link and answers everything in flight
 * with the error. A closed link stays closed: the registry (node-links.ts) dials a new one.
 */
export class NodeLink {
  /** Open once the far node welcomed this one; closed for good after any failure. */
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** Bytes of the batches in flight. */
  inFlightBytes = 0;
  /**
   * Targets the far node refused on this link and has not been told are sent here again: the
   * next batch carrying one clears it there (see `LinkReceiver`).
   */
  readonly refused = new Set<string>();
  private readonly socket: Socket;
  private readonly reader = new FrameReader();
  private readonly inFlight: InFlight[] = [];
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    self: string,
    readonly node: string,
    address: LinkAddress,
    private readonly timeout: number,
    private readonly closed: (link: NodeLink, error: NodeLinkError | undefined) => void,
  ) {
    const socket = (this.socket = connect({ host: address.host, port: address.port, noDelay: true }));
    socket.write(controlFrame(HELLO, { from: self, to: node, secret: address.secret }));
    this.arm();
    socket.on('data', (chunk: Buffer) => {
      if (!this.reader.push(chunk, this.frame)) this.fail('protocol', 'a frame too large');
    });
    socket.on('error', (error) => this.fail('lost', error.message, error));
    socket.on('close', () => this.fail('lost', 'the connection closed'));
  }

  /** Whether batches may be sent: open, and `bytes` more stay within `maxBytes` in flight. */
  accepts(bytes: number, maxBytes: number): boolean {
    return this.state === 'open' && this.inFlightBytes + bytes <= maxBytes;
  }

  /** Sends a batch (its bytes are not copied: they must stay as they are until answered); `cleared` as in frames.ts. */
  send(batch: Buffer, cleared: string, answer: LinkAnswer): void {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    this.socket.cork();
    this.socket.write(batchHead(seq, cleared, batch.length));
    this.socket.write(batch);
    this.socket.uncork();
    this.inFlight.push({ seq, bytes: batch.length, sentAt: performance.now(), answer });
    this.inFlightBytes += batch.length;
    if (this.timer === undefined) this.arm();
  }

  /** Closes the link; what is in flight is answered `lost`. */
  close(): void {
    this.fail('lost', 'closed by this node');
  }

  private readonly frame = (type: number, payload: Buffer): void => {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      if (type !== WELCOME) return this.fail('protocol', 'the far node did not welcome this one');
      this.state = 'open';
      this.disarm();
      return;
    }
    if (type !== RESULT || payload.length < 6) return this.fail('protocol', 'a frame that is not a result');
    const seq = payload.readUInt32BE(0);
    const count = payload.readUInt16BE(4);
    const head = this.inFlight[0];
    if (head === undefined || head.seq !== seq || payload.length < 6 + 2 * count)
      return this.fail('protocol', 'a result for no batch in flight');
    const refused: number[] = [];
    for (let i = 0; i < count; i++) {
      const index = payload.readUInt16BE(6 + 2 * i);
      // Ascending, each once: the batcher answers each envelope once.
      if (i > 0 && index <= refused[i - 1]!) return this.fail('protocol', 'a result out of order');
      refused.push(index);
    }
    this.inFlight.shift();
    this.inFlightBytes -= head.bytes;
    this.disarm();
    if (this.inFlight.length > 0) this.arm();
    head.answer(refused);
  };

  /** Times the oldest unanswered batch (or the handshake). */
  private arm(): void {
    const oldest = this.inFlight[0];
    const left = oldest === undefined ? this.timeout : Math.max(0, oldest.sentAt + this.timeout - performance.now());
    this.timer = setTimeout(() => this.fail('timeout', `no answer within ${this.timeout} ms`), left);
    this.timer.unref?.();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fail(failure: 'lost' | 'timeout' | 'protocol', message: string, cause?: unknown): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.disarm();
    this.socket.destroy();
    const error = new NodeLinkError(this.node, failure, message, cause);
    const inFlight = this.inFlight.splice(0);
    this.inFlightBytes = 0;
    // A link lost with nothing on it (the far node closed, or is gone) is not news: it is dialled again when needed.
    const news = inFlight.length > 0 || failure !== 'lost';
    this.closed(this, news ? error : undefined);
    for (const batch of inFlight) batch.answer(error);
  }
}
