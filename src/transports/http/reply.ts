import type { ServerResponse } from 'node:http';

/** Error answers: `{"error":…,"message":…}` with the status. */
export function reply(
  response: ServerResponse,
  status: number,
  error: string,
  message: string,
  extra: Readonly<Record<string, unknown>> = {},
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.headersSent || response.writableEnded) return;
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify({ error, message, ...extra }));
}

/** `503` with `Retry-After`: try again (another node may take it). */
export function unavailable(response: ServerResponse, message: string, retryAfter = 5): void {
  reply(response, 503, 'unavailable', message, {}, { 'retry-after': String(retryAfter) });
}

export function noContent(response: ServerResponse, status: 202 | 204): void {
  if (response.headersSent || response.writableEnded) return;
  response.writeHead(status, { 'cache-control': 'no-store' });
  response.end();
}

/** `500` for a failure the hub's `error` event has reported. */
export function internalError(response: ServerResponse): void {
  reply(response, 500, 'internal-error', 'Internal error');
}
