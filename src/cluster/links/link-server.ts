import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { BATCH, FrameReader, HELLO, MAX_FRAME_BYTES, WELCOME, controlFrame, resultFrame } from './frames.js';
import { NodeLinkError } from './errors.js';

/**
 * Delivers a batch that came over a link from node `from`: returns the indexes of the envelopes
 * it did not deliver (an empty array when it delivered them all), or `undefined` when the batch
 * is malformed. `refused` holds the targets refused on this link so far: each is refused again
 * (the sender is re-sending the earlier ones through Redis, and a later one must not overtake
 * them) until the sender clears it.
 */
export type LinkReceiver = (from: string, batch: Buffer, refused: Set<string>) => number[] | undefined;

/** The largest frame read before a link's HELLO (node ids are at most 128 characters). */
const HELLO_LIMIT = 4096;

/** Targets a link may hold refused at once; past that the sender misbehaves and the link closes. */
const MAX_REFUSED = 65_536;

/**
 * The listening end of node links: other nodes dial it, prove they read this node's secret
 * from the cluster's store (`HELLO`), and then send batches, each answered with what was
 * refused (frames.ts). A link that breaks the protocol, or says nothing for `helloTimeout`
 * ms, is closed; its sender's batches in flight are then answered `unavailable` there.
 */
export class LinkServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly secret: Buffer;

  constructor(
    private readonly nodeId: string,
    secret: string,
    private readonly receive: LinkReceiver,
    private readonly helloTimeout: number,
    private readonly report: (error: Error) => void,
  ) {
    this.secret = Buffer.from(secret);
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (error) => this.report(new NodeLinkError(this.nodeId, 'lost', 'the link server failed', error)));
  }

  /** Listens on `host:port` (port 0: one the system picks); resolves with where. */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      this.server.once('error', failed);
      this.server.listen(port, host, () => {
        this.server.off('error', failed);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops listening and closes every link (their senders answer what was in flight `unavailable`). */
  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const reader = new FrameReader();
    // Until it says who it is, a link is a stranger: it gets no more than a HELLO's worth of memory.
    reader.limit = HELLO_LIMIT;
    const refused = new Set<string>();
    let from: string | undefined;
    const timer = setTimeout(() => socket.destroy(), this.helloTimeout);
    timer.unref?.();
    const fail = (message: string) => {
      this.report(new NodeLinkError(from ?? socket.remoteAddress ?? 'unknown', 'protocol', message));
      socket.destroy();
    };
    const frame = (type: number, payload: Buffer): void => {
      if (socket.destroyed) return;
      if (from === undefined) {
        if (type !== HELLO) return fail('the first frame was not HELLO');
        const hello = parseHello(payload);
        if (hello === undefined || hello.to !== this.nodeId || !this.sameSecret(hello.secret))
          return fail('a HELLO with a wrong node or secret');
        clearTimeout(timer);
        from = hello.from;
        reader.limit = MAX_FRAME_BYTES;
        socket.write(controlFrame(WELCOME));
        return;
      }
      if (type !== BATCH || payload.length < 6) return fail('a frame that is not a batch');
      const seq = payload.readUInt32BE(0);
      const names = payload.readUInt16BE(4);
      if (payload.length < 6 + names) return fail('a batch shorter than its head');
      if (names > 0) for (const name of payload.toString('utf8', 6, 6 + names).split('\t')) refused.delete(name);
      const answer = this.receive(from, payload.subarray(6 + names), refused);
      if (answer === undefined) return fail('a malformed batch');
      if (refused.size > MAX_REFUSED) return fail('too many refused targets');
      socket.write(resultFrame(seq, answer));
    };
    socket.on('data', (chunk: Buffer) => {
      // One write for the answers to what one read brought.
      socket.cork();
      if (!reader.push(chunk, frame)) fail('a frame too large');
      process.nextTick(() => socket.uncork());
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      this.sockets.delete(socket);
    });
  }

  private sameSecret(given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const bytes = Buffer.from(given);
    return bytes.length === this.secret.length && timingSafeEqual(bytes, this.secret);
  }
}

function parseHello(payload: Buffer): { from: string; to: string; secret: unknown } | undefined {
  try {
    const hello = JSON.parse(payload.toString()) as { from?: unknown; to?: unknown; secret?: unknown };
    if (typeof hello.from !== 'string' || typeof hello.to !== 'string' || hello.from.length === 0) return undefined;
    return { from: hello.from, to: hello.to, secret: hello.secret };
  } catch {
    return undefined;
  }
}
