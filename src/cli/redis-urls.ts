/** Whether `text` is a redis:// or rediss:// URL as the CLI takes it. */
export function isRedisUrl(text: string): boolean {
  return /^rediss?:\/\/\S+$/.test(text);
}

/**
 * The seed URLs of `--redis-cluster URL,URL,…`, or `undefined` when one of
 * them is not a redis:// or rediss:// URL (or none is given).
 */
export function parseRedisClusterUrls(text: string): string[] | undefined {
  const urls = text
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  return urls.length > 0 && urls.every(isRedisUrl) ? urls : undefined;
}

/** URLs fit for an error message or a log line: no password. */
export function shown(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, '//');
}
