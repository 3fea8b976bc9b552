// A load client of the hub's HTTP fallback (docs/PROTOCOL.md, "HTTP fallback"), shaped like the `ws`
// sockets of load.mjs (events `open`, `message`, `close`, `error`; `send`, `terminate`, `readyState`):
// frames come down one Server-Sent Events stream, go up in POSTs (one in flight; what is sent meanwhile
// goes in the next POST's body), each POST acknowledging the last event id. Kept cheap: plain `http`
// with a keep-alive agent, frames handed on as strings and never parsed.
import { EventEmitter } from 'node:events';
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 });
const SECRET = 'x-signalling-secret';
const OPEN = 1;
const CLOSED = 3;

/** A frame as an element of a POST body (a JSON string), cached per prebuilt frame. */
const escaped = new WeakMap();
function bodyElement(data) {
  if (typeof data === 'string') return JSON.stringify(data);
  let text = escaped.get(data);
  if (text === undefined) escaped.set(data, (text = JSON.stringify(data.toString())));
  return text;
}

export class HttpPeer extends EventEmitter {
  readyState = 0;

  constructor(port, path = '/') {
    super();
    this.port = port;
    this.path = path;
    this.lastId = 0;
    this.seq = 0;
    this.posting = false;
    this.queued = [];
    this.buffer = '';
    this.create().catch((error) => this.emit('error', error));
  }

  request(method, query, headers = {}) {
    return http.request({
      agent,
      host: '127.0.0.1',
      port: this.port,
      method,
      path: `${this.path}?transport=http${query}`,
      headers: this.secret === undefined ? headers : { [SECRET]: this.secret, ...headers },
    });
  }

  async create() {
    const info = await new Promise((resolve, reject) => {
      const request = this.request('POST', '');
      request.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () =>
          response.statusCode === 201 ? resolve(JSON.parse(body)) : reject(new Error(`session refused: ${body}`)),
        );
      });
      request.on('error', reject);
      request.end();
    });
    this.session = info.session;
    this.secret = info.secret;
    this.query = `&session=${info.session}`;
    // The stream: open first, then every frame.
    const stream = this.request('GET', this.query, { accept: 'text/event-stream' });
    this.stream = stream;
    stream.on('error', (error) => this.readyState !== CLOSED && this.emit('error', error));
    stream.on('response', (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk) => this.feed(chunk));
      response.on('end', () => this.closed());
      response.on('error', () => this.closed());
    });
    stream.end();
  }

  /** Server-Sent Events, as the hub writes them: `id: N` then one `data:` line (relays hold no line break). */
  feed(chunk) {
    let text = this.buffer + chunk;
    let start = 0;
    let end;
    while ((end = text.indexOf('\n\n', start)) !== -1) {
      const block = text.slice(start, end);
      start = end + 2;
      if (block.startsWith('id: ')) {
        const line = block.indexOf('\n');
        this.lastId = Number(block.slice(4, line));
        if (block.startsWith('event: close', line + 1)) {
          this.closed();
          return;
        }
        this.emit('message', block.slice(line + 7)); // after "\ndata: "
      } else if (block.includes('event: open')) {
        this.readyState = OPEN;
        this.emit('open');
      }
      // Else a heartbeat comment.
    }
    this.buffer = start === 0 ? text : text.slice(start);
  }

  /** Sends one frame (a string or a prebuilt Buffer of its text). */
  send(data) {
    if (this.readyState !== OPEN) return;
    this.queued.push(bodyElement(data));
    if (!this.posting) this.post();
  }

  post() {
    const frames = this.queued;
    this.queued = [];
    this.posting = true;
    const body = `[${frames.join(',')}]`;
    const request = this.request('POST', `${this.query}&seq=${++this.seq}&ack=${this.lastId}`, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => {
        this.posting = false;
        if (this.queued.length > 0 && this.readyState === OPEN) this.post();
      });
    });
    request.on('error', () => this.closed());
    request.end(body);
  }

  /** A goodbye (`DELETE`, 1000) and the stream dropped. */
  terminate() {
    if (this.readyState === CLOSED) return;
    if (this.secret !== undefined) {
      const request = this.request('DELETE', `${this.query}&code=1000`);
      request.on('response', (response) => response.resume());
      request.on('error', () => {});
      request.end();
    }
    this.closed();
  }

  closed() {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.stream?.destroy();
    queueMicrotask(() => this.emit('close'));
  }
}
