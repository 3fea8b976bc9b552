import type { UpgradeRequest } from '../../index.js';

/**
 * The upgrade request as the hub's `authenticate` hook reads it (the shape of
 * Node's `IncomingMessage`), read from Bun's `Request` only when the hook
 * asks: a hub without the hook builds no header object per connection, and
 * the hub drops the request at login.
 */
export class BunUpgradeRequest implements UpgradeRequest {
  private headerRecord: Record<string, string> | undefined = undefined;

  constructor(
    /** Bun's request (what the host's `origins` and `verifyUpgrade` get). */
    readonly source: Request,
    /** Where the path starts in `source.url` (Bun's URLs are absolute). */
    private readonly pathStart: number,
    private readonly remoteAddress: string | undefined,
  ) {}

  /** The path and query string, as `IncomingMessage.url` has them. */
  get url(): string {
    return this.pathStart < this.source.url.length ? this.source.url.slice(this.pathStart) : '/';
  }

  /** The headers by lower-case name. */
  get headers(): Record<string, string> {
    if (this.headerRecord === undefined) {
      const headers: Record<string, string> = {};
      this.source.headers.forEach((value, name) => {
        headers[name] = value;
      });
      this.headerRecord = headers;
    }
    return this.headerRecord;
  }

  get socket(): { readonly remoteAddress: string | undefined } {
    return { remoteAddress: this.remoteAddress };
  }
}
