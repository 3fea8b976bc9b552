import { HttpParam, PROBE_ON, refusalOf, STATUS_ADMITTED } from '../protocol/http-wire.js';
import type { HttpSocketOptions } from './http-socket.js';
import { type HttpSocketFetch, parseJson } from './http/link.js';
import { fallbackUrl } from './http/url.js';

/** What a probe learnt: the hub would admit the connection, or refused it with `status`. */
export type ProbeAnswer = { readonly status: number; readonly message: string | undefined };

/**
 * Asks the hub why a WebSocket to `url` failed before it opened (a
 * browser's WebSocket only sees 1006, never the status of a refused
 * upgrade): `GET <url>&transport=http&probe=1`, same query, `headers` and
 * `credentials`. Resolves {@link STATUS_ADMITTED} (the failure was something
 * else: a proxy without Upgrade), the status of a refusal with the hub's
 * JSON error body, or `undefined` when nothing can be told within `timeout`
 * ms (no `fetch`, a network error, a hub without the HTTP fallback: 404).
 */
export async function probeHandshake(
  url: string,
  http: HttpSocketOptions,
  headers: Readonly<Record<string, string>>,
  timeout: number,
): Promise<ProbeAnswer | undefined> {
  const fetchImpl = http.fetch ?? (globalThis as { fetch?: HttpSocketFetch }).fetch?.bind(globalThis);
  if (fetchImpl === undefined) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const target = fallbackUrl(url);
    target.searchParams.set(HttpParam.probe, PROBE_ON);
    const asked = (async (): Promise<ProbeAnswer | undefined> => {
      const response = await fetchImpl(target.href, {
        method: 'GET',
        headers: { ...headers },
        credentials: http.credentials ?? 'same-origin',
      });
      const status = response.status;
      if (status === STATUS_ADMITTED) return { status, message: undefined };
      if (refusalOf(status) === undefined) return undefined;
      // The hub's refusals carry {"error":…,"message":…}; anything else is not the hub's answer (a host route, a proxy page).
      const body = parseJson(await response.text()) as { error?: unknown; message?: unknown } | undefined;
      if (typeof body?.error !== 'string') return undefined;
      return { status, message: typeof body.message === 'string' ? body.message.slice(0, 500) : undefined };
    })().catch(() => undefined);
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeout);
    });
    return await Promise.race([asked, late]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
