import { InvalidArgumentError } from '../common/errors.js';
import { describeValue } from '../common/option-check.js';
import { pageHref } from './page.js';

/**
 * The client's `url` argument as a frozen list.
 * @throws {@link InvalidArgumentError} when it is neither a non-empty string
 * nor a non-empty array of them, or holds a relative URL where there is no
 * page (Node).
 */
export function checkedUrls(url: unknown): readonly string[] {
  const urls: unknown[] = Array.isArray(url) ? [...(url as unknown[])] : [url];
  if (urls.length === 0 || urls.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw new InvalidArgumentError('url', 'a WebSocket URL or a non-empty array of them', describeValue(url));
  }
  // A relative URL ('/signal') is the page's: a browser resolves it, and so does HttpSocket. Without a page it cannot work.
  if (pageHref() === undefined) {
    const relative = (urls as string[]).find((entry) => !/^[a-z][a-z0-9+.-]*:/i.test(entry));
    if (relative !== undefined) {
      throw new InvalidArgumentError(
        'url',
        'an absolute ws://, wss://, http:// or https:// URL (a relative one needs a page to resolve against)',
        describeValue(relative),
      );
    }
  }
  return Object.freeze(urls as string[]);
}
