import { EVENT_MESSAGE } from '../../protocol/http-wire.js';

/** One event from the server: a stream's event, or an entry of a long-poll's array. */
export interface ServerEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** A line (or an event's data) of the stream was longer than the parser takes: the stream cannot be trusted further. */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`the server sent an event-stream line or event longer than ${limit} characters (HttpSocket option maxLineLength)`);
  }
}

const LF = 10;
const CR = 13;

/**
 * A `text/event-stream` parser (the WHATWG rules, less `retry`): feed it
 * text, it calls back per event. Each character is looked at once, however
 * the text is cut into chunks: the unfinished line is kept as pieces and
 * joined only when its end arrives, so a long line costs linear time; a
 * line, or the data of one event, longer than `maxLineLength` throws
 * {@link LineTooLongError} instead of growing without bound.
 */
export class EventStreamParser {
  /** Characters scanned so far (each once): what the parser's work is proportional to. */
  scanned = 0;
  /** The unfinished line, in the pieces it arrived in. */
  private pending: string[] = [];
  private pendingLength = 0;
  private data: string[] = [];
  private dataLength = 0;
  private event = '';
  private id: string | undefined;
  /** The last chunk ended in `\r`: a `\n` starting the next one belongs to it. */
  private afterCR = false;

  constructor(
    private readonly onEvent: (event: ServerEvent) => void,
    private readonly maxLineLength: number,
  ) {}

  feed(text: string): void {
    let start = 0;
    if (this.afterCR && text.charCodeAt(0) === LF) start = 1;
    this.afterCR = false;
    const n = text.length;
    for (let i = start; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      this.scanned += i + 1 - start;
      this.endLine(text, start, i);
      if (c === CR) {
        if (i + 1 === n) this.afterCR = true;
        else if (text.charCodeAt(i + 1) === LF) {
          i++;
          this.scanned++;
        }
      }
      start = i + 1;
    }
    if (start < n) {
      this.scanned += n - start;
      this.pendingLength += n - start;
      if (this.pendingLength > this.maxLineLength) throw new LineTooLongError(this.maxLineLength);
      this.pending.push(start === 0 ? text : text.slice(start));
    }
  }

  private endLine(text: string, start: number, end: number): void {
    if (this.pendingLength + end - start > this.maxLineLength) throw new LineTooLongError(this.maxLineLength);
    let line = text.slice(start, end);
    if (this.pending.length > 0) {
      this.pending.push(line);
      line = this.pending.join('');
      this.pending = [];
      this.pendingLength = 0;
    }
    this.line(line);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ id: this.id, event: this.event || EVENT_MESSAGE, data: this.data.join('\n') });
      this.data = [];
      this.dataLength = 0;
      this.event = '';
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* ' ' */) value = value.slice(1);
    if (field === 'data') {
      this.dataLength += value.length + 1;
      if (this.dataLength > this.maxLineLength) throw new LineTooLongError(this.maxLineLength);
      this.data.push(value);
    } else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}
