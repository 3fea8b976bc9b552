import type { Transport, TransportSession } from '../../core/transport.js';
import { Downlink, type DownlinkContext } from './downlink.js';
import { type HeldBudget, Uplink } from './uplink.js';
import { LOST_CODE } from '../../protocol/http-wire.js';

/** What the sessions of one attachment share. */
export interface HttpSessionContext extends DownlinkContext {
  /** Bytes of held POST bodies of every session of the attachment. */
  readonly held: HeldBudget;
  /** The frames of a body checked before (a held body, when its turn comes). */
  readonly framesOf: (body: Buffer) => readonly string[];
  /** The session is over: forget it. */
  forget(session: HttpSession): void;
  /** The session logged in (the hub said so through `Transport.joined`). */
  joined(session: HttpSession): void;
  /** The session's close event went out to a reader. */
  closeSent(session: HttpSession): void;
}

const decoder = new TextDecoder();

/**
 * One HTTP fallback session as a hub {@link Transport}: its downlink (events
 * to the client over streams or long-polls) and its uplink (POSTs from the
 * client, in `seq` order).
 */
export class HttpSession implements Transport {
  /** The hub's side of this connection. */
  session!: TransportSession;
  /** When the client last made a request (a waiting poll counts as one in progress). */
  lastSeen = Date.now();
  /** When the session was created. */
  readonly createdAt = Date.now();
  /** When it closed (the sweep forgets it `sessionTimeout` after, whatever the client does). */
  closedAt = 0;
  /** Set once the session is closed: the close event is then the last event. */
  closeInfo: { readonly code: number; readonly reason: string } | undefined;
  /** Not logged in yet: it counts against the bounds of its connection and address. */
  pending = true;
  readonly downlink: Downlink;
  readonly uplink: Uplink;

  constructor(
    readonly id: string,
    readonly secret: Buffer,
    private readonly context: HttpSessionContext,
    /** The TCP connection that created it. */
    readonly connection: object,
    /** The address that created it. */
    readonly address: string,
  ) {
    this.downlink = new Downlink(context, {
      touched: () => {
        if (this.closeInfo === undefined) this.lastSeen = Date.now();
      },
      closeSent: () => context.closeSent(this),
    });
    this.uplink = new Uplink(context.held, (frames) => this.deliver(frames), context.framesOf);
  }

  get open(): boolean {
    return this.closeInfo === undefined;
  }

  /** Whether the client acknowledged the close event (nothing is left for it). */
  get closeAcked(): boolean {
    return this.closeInfo !== undefined && this.downlink.closeSent && this.downlink.drained;
  }

  // --- Transport: what the hub calls ---

  send(message: string | Uint8Array): void {
    if (this.closeInfo !== undefined) return;
    const data = typeof message === 'string' ? message : decoder.decode(message);
    const bytes = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    this.downlink.send(data, bytes);
  }

  /** The session logged in: it no longer counts against the bounds on sessions that have not (see `SessionTable`). */
  joined(): void {
    this.context.joined(this);
  }

  /** The hub closes the connection: the client gets a close event with `code` and `reason`. */
  close(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.finish(code, reason);
    // As a WebSocket's close event would, once the hub is done with its own close.
    queueMicrotask(() => this.session.closed(code));
  }

  /** Drops the session at once: no close event, the reader's connection is destroyed. */
  terminate(): void {
    this.lost();
  }

  /**
   * Bytes queued for the client that no reader has taken yet, and bytes a
   * stream has not handed to the kernel: what the hub's `maxBufferedBytes`
   * and `slowConsumerTimeout` apply to.
   */
  get bufferedAmount(): number {
    return this.downlink.bufferedAmount;
  }

  // --- What the adapter calls ---

  /** Closes from the adapter's side (1009 body too large, 1007 bad text, 1001 going away): client and hub are told. */
  closeByAdapter(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.finish(code, reason);
    this.session.closed(code);
  }

  /** The client went away without a goodbye (timeout, events lost): no close event; the hub sees 1006. */
  lost(): void {
    this.end({ code: LOST_CODE, reason: '' }, true);
  }

  /** The client said goodbye (`DELETE`) with `code`: the hub sees it as a close frame's code. */
  goodbye(code: number): void {
    this.end({ code, reason: '' }, false);
  }

  /** Ends the reader (a stream ends, a poll gets what is queued) without closing the session. */
  endReader(): void {
    this.downlink.endReader();
  }

  // --- Inside ---

  private deliver(frames: readonly string[]): void {
    for (const frame of frames) {
      // A frame that closed the session (a rate-limit ban) ends the batch.
      if (this.closeInfo !== undefined) return;
      // As UTF-8 bytes: the hub counts them against maxMessageBytes and forwards well-formed relays without decoding.
      this.session.receive(Buffer.from(frame));
    }
  }

  private closed(info: { readonly code: number; readonly reason: string }): void {
    this.closeInfo = info;
    this.closedAt = Date.now();
    // Nothing more is handed to the hub: what waits for an earlier POST is let go now.
    this.uplink.clear();
  }

  private finish(code: number, reason: string): void {
    this.closed({ code, reason });
    this.downlink.sendClose(code, reason);
  }

  /** Ends without a close event (lost, or the client's goodbye): the session is forgotten at once. */
  private end(info: { readonly code: number; readonly reason: string }, destroy: boolean): void {
    const wasOpen = this.closeInfo === undefined;
    if (wasOpen) this.closed(info);
    this.downlink.dropReader(destroy);
    this.context.forget(this);
    if (wasOpen) this.session.closed(info.code);
  }
}
