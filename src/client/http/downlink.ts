import {
  EVENT_STREAM_TYPE,
  HttpParam,
  JSON_TYPE,
  LOST_CODE,
  POLL_ON,
  OPEN,
  EVENT_CLOSE,
  EVENT_MESSAGE,
  EVENT_OPEN,
} from '../../protocol/http-wire.js';
import { EventStreamParser, LineTooLongError, type ServerEvent } from './event-stream.js';
import { type Outcome, parseJson, type SessionLink } from './link.js';

/** How {@link HttpSocket} receives: a Server-Sent Events stream, or long-polling. */
export type HttpSocketTransport = 'stream' | 'poll';

/** What the downlink takes from the socket's options. */
export interface DownlinkOptions {
  readonly transport: 'auto' | HttpSocketTransport;
  readonly streamTimeout: number;
  readonly maxLineLength: number;
}

/**
 * Server to client: a Server-Sent Events stream read with `fetch` (so the
 * secret goes in a header) or, where a proxy holds the stream back, long
 * polls. A lost stream or poll is made again from the last event received,
 * and a frame received twice (sent again after that) is delivered once.
 */
export class Downlink {
  mode: HttpSocketTransport;
  /** The stream delivered its first event once: the way is clear, it is not probed again. */
  private streamConfirmed = false;

  constructor(
    private readonly link: SessionLink,
    private readonly options: DownlinkOptions,
    /** A frame from the server, in order, once. */
    private readonly onFrame: (data: string) => void,
  ) {
    this.mode = options.transport === 'poll' ? 'poll' : 'stream';
  }

  private get open(): boolean {
    return this.link.owner.readyState() === OPEN;
  }

  /** Reads until the socket is no longer open. */
  async run(): Promise<void> {
    let failures = 0;
    while (this.open) {
      const outcome = this.mode === 'stream' ? await this.readStream() : await this.readPoll();
      if (!this.open || outcome === 'stop') return;
      if (outcome === 'ok') {
        failures = 0;
        continue;
      }
      failures++;
      if (this.link.unreachable()) {
        this.link.owner.fail('the server cannot be reached');
        return;
      }
      await this.link.sleep(Math.min(100 * 2 ** Math.min(failures, 6), 5000));
    }
  }

  private handle(event: ServerEvent): void {
    if (!this.link.usable) return;
    if (event.event === EVENT_CLOSE) {
      const info = parseJson(event.data) as { code?: unknown; reason?: unknown } | undefined;
      this.link.owner.closedByServer(
        typeof info?.code === 'number' ? info.code : LOST_CODE,
        typeof info?.reason === 'string' ? info.reason : '',
      );
      return;
    }
    if (event.event !== EVENT_MESSAGE || event.id === undefined) return;
    const id = Number(event.id);
    // A frame received before (sent again after a reconnection) is not delivered twice.
    if (!Number.isSafeInteger(id) || id <= this.link.lastEventId) return;
    this.link.lastEventId = id;
    this.onFrame(event.data);
  }

  private async readStream(): Promise<Outcome> {
    const { controller, done } = this.link.controller();
    const info = this.link.info!;
    const probing = this.options.transport === 'auto' && !this.streamConfirmed;
    let opened = false;
    let heldBack = false;
    let answered = false;
    const probe = probing
      ? setTimeout(() => {
          heldBack = true;
          controller.abort();
        }, this.options.streamTimeout)
      : undefined;
    // Nothing at all (not even a heartbeat) for two heartbeats: the stream is dead, open another.
    const heartbeat = info.heartbeat;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const watch = () => {
      if (heartbeat === 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), 2 * heartbeat + 5000);
    };
    const parser = new EventStreamParser((event) => {
      if (event.event === EVENT_OPEN) {
        opened = true;
        this.streamConfirmed = true;
        clearTimeout(probe);
        return;
      }
      this.handle(event);
    }, this.options.maxLineLength);
    try {
      watch();
      const response = await this.link.request(
        'GET',
        { [HttpParam.session]: info.session, [HttpParam.ack]: String(this.link.lastEventId) },
        { accept: EVENT_STREAM_TYPE, signal: controller.signal },
      );
      if (response.status !== 200) {
        clearTimeout(probe);
        return await this.link.refused(response);
      }
      this.link.contact();
      answered = true;
      if (response.body === null) {
        // No streaming responses here: long-polling.
        this.mode = 'poll';
        return 'ok';
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done: ended, value } = await reader.read();
        if (ended) break;
        this.link.contact();
        watch();
        parser.feed(decoder.decode(value, { stream: true }));
        if (!this.open) {
          controller.abort();
          return 'stop';
        }
      }
    } catch (error) {
      // A server that sends an endless line is not followed further.
      if (error instanceof LineTooLongError) {
        controller.abort();
        this.link.owner.fail(error.message);
        return 'stop';
      }
      // Else aborted (held back, dead, closing) or a network failure.
    } finally {
      clearTimeout(probe);
      clearTimeout(idle);
      done();
    }
    if (!this.open) return 'stop';
    if (!opened && probing && (heldBack || answered)) {
      // The first event did not come through: a proxy buffers the stream. Long-polling from now on.
      this.mode = 'poll';
      return 'ok';
    }
    return opened ? 'ok' : 'retry';
  }

  private async readPoll(): Promise<Outcome> {
    const { controller, done } = this.link.controller();
    const info = this.link.info!;
    // The server answers within its poll timeout; a poll stuck longer is dropped and made again.
    const timer = setTimeout(() => controller.abort(), info.pollTimeout + 10000);
    try {
      const response = await this.link.request(
        'GET',
        { [HttpParam.session]: info.session, [HttpParam.poll]: POLL_ON, [HttpParam.ack]: String(this.link.lastEventId) },
        { accept: JSON_TYPE, signal: controller.signal },
      );
      if (response.status !== 200) return await this.link.refused(response);
      const events = parseJson(await response.text());
      if (!Array.isArray(events)) return 'retry';
      this.link.contact();
      for (const entry of events as Array<{ id?: unknown; event?: unknown; data?: unknown }>) {
        if (typeof entry?.data !== 'string') continue;
        this.handle({
          id: typeof entry.id === 'number' ? String(entry.id) : undefined,
          event: typeof entry.event === 'string' ? entry.event : EVENT_MESSAGE,
          data: entry.data,
        });
      }
      return this.open ? 'ok' : 'stop';
    } catch {
      return this.open ? 'retry' : 'stop';
    } finally {
      clearTimeout(timer);
      done();
    }
  }
}
