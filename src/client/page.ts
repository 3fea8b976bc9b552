/**
 * The URL of the page the client runs in, where there is one (a browser):
 * relative hub URLs resolve against it. `undefined` elsewhere: Node, and
 * Deno without `--location`, whose `location` getter throws.
 */
export function pageHref(): string | undefined {
  try {
    const href = (globalThis as { location?: { href?: unknown } }).location?.href;
    return typeof href === 'string' ? href : undefined;
  } catch {
    return undefined;
  }
}
