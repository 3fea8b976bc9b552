/** The path of a request URL without its query string (`/signalling?token=x` → `/signalling`). */
export function pathnameOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
