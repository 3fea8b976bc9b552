import type { IncomingMessage } from 'node:http';

/** A decimal whole number in [min, 2^53 − 1], or `undefined`. */
export function wholeNumber(text: string, min: number): number | undefined {
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= Number.MAX_SAFE_INTEGER ? value : undefined;
}

/** A request body up to `limit` bytes; `too-large` past it (or when its Content-Length says so), `aborted` when the client went away. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = wholeNumber(request.headers['content-length'] ?? '', 0);
  if (declared !== undefined && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: Buffer | 'too-large' | 'aborted') => {
      if (done) return;
      done = true;
      request.removeListener('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // The rest is read and discarded; the answer closes the connection.
        request.resume();
        finish('too-large');
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => finish(Buffer.concat(chunks, size)));
    request.once('close', () => finish('aborted'));
    request.once('error', () => finish('aborted'));
  });
}

/** A lone surrogate: JSON strings can carry one, UTF-8 (and so a WebSocket text frame) cannot. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The frames of a POST body: a JSON array of strings (an empty body: none);
 * `undefined` when it is not that, `lone-surrogate` when a frame holds one.
 */
export function framesOf(text: string): string[] | 'lone-surrogate' | undefined {
  if (text.length === 0) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || !value.every((frame) => typeof frame === 'string')) return undefined;
  if (value.some((frame: string) => LONE_SURROGATE.test(frame))) return 'lone-surrogate';
  return value;
}
