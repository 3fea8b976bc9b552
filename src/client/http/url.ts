import { TRANSPORT_HTTP, TRANSPORT_PARAM } from '../../protocol/http-wire.js';
import { pageHref } from '../page.js';

/**
 * The HTTP URL of the hub's fallback for `url` (ws, wss, http or https; a
 * relative one is resolved against the page's location, as a browser's
 * WebSocket does).
 */
export function fallbackUrl(url: string): URL {
  const page = pageHref();
  let base: URL;
  try {
    base = page !== undefined ? new URL(url, page) : new URL(url);
  } catch {
    throw new SyntaxError(
      page !== undefined || /^[a-z][a-z0-9+.-]*:/i.test(url)
        ? `HttpSocket: ${JSON.stringify(url)} is not a valid URL`
        : `HttpSocket: the relative URL ${JSON.stringify(url)} needs a page to resolve against: give an absolute ws://, wss://, http:// or https:// URL`,
    );
  }
  if (base.protocol === 'ws:') base.protocol = 'http:';
  else if (base.protocol === 'wss:') base.protocol = 'https:';
  else if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new SyntaxError(`HttpSocket: the URL's scheme must be ws, wss, http or https, got ${base.protocol}`);
  }
  base.hash = '';
  base.searchParams.set(TRANSPORT_PARAM, TRANSPORT_HTTP);
  return base;
}
