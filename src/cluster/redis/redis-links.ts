import { BackplaneError } from '../../core/errors.js';
import type { Envelope } from '../../core/backplane.js';
import { messageOf } from '../cluster-backplane.js';
import { LinkServer } from '../links/link-server.js';
import type { LinkAddress } from '../links/node-link.js';
import { NodeLinks } from '../links/node-links.js';
import { receiveLinked } from '../links/receive.js';
import type { ScriptRunner } from './client.js';
import type { LinkPath } from './forward-batcher.js';
import type { Keys } from './keys.js';
import { linksAddress } from './options.js';

/** What {@link RedisLinks} needs of its backplane. */
export interface RedisLinksHost {
  readonly nodeId: string;
  /** Whether this node's names are surely its own now (its lease holds): links deliver and send only then. */
  current(): boolean;
  /** Delivers an envelope that came over a link; false when its target is not here. */
  deliver(envelope: Envelope): boolean;
  report(error: unknown): void;
}

/**
 * A Redis backplane's node links (`links` option): the server other nodes' links come in on, and
 * this node's links to them, found through the lease records in Redis (`<uuid> <host> <port> <secret>`).
 */
export class RedisLinks {
  private server: LinkServer | undefined;
  private links: NodeLinks | undefined;

  constructor(
    private readonly host: RedisLinksHost,
    private readonly options: {
      readonly links: string;
      readonly linksAdvertise: string | undefined;
      readonly commandTimeout: number;
      readonly heartbeatInterval: number;
      readonly maxInFlightBytes: number;
    },
  ) {}

  /** Listens for other nodes' links; resolves with what the lease record adds: where, and the secret they must show. */
  async listen(): Promise<string> {
    const { host, port } = linksAddress(this.options.links);
    const secret = globalThis.crypto.randomUUID();
    const receive = (_from: string, batch: Buffer, refused: Set<string>) =>
      receiveLinked(batch, refused, this.host.current(), (envelope) => this.host.deliver(envelope));
    const server = (this.server = new LinkServer(this.host.nodeId, secret, receive, this.options.commandTimeout, (error) =>
      this.host.report(error),
    ));
    try {
      const address = await server.listen(host, port);
      return ` ${this.options.linksAdvertise ?? host} ${address.port} ${secret}`;
    } catch (error) {
      this.server = undefined;
      await server.close().catch(() => {});
      throw new BackplaneError(`Could not listen for node links on ${this.options.links}: ${messageOf(error)}`, error);
    }
  }

  /** The batcher's way to the other nodes' links, looked up in Redis through `runner`. */
  path(runner: ScriptRunner, keys: Keys): LinkPath {
    const { options } = this;
    const address = async (node: string): Promise<LinkAddress | undefined> => {
      const value = await runner.command(['GET', keys.leaseOf(node)]);
      if (typeof value !== 'string') return undefined;
      const [, host, port, secret] = value.split(' ');
      return secret === undefined ? undefined : { host: host!, port: Number(port), secret };
    };
    const links = (this.links = new NodeLinks(
      this.host.nodeId,
      address,
      options.commandTimeout,
      options.heartbeatInterval,
      (error) => this.host.report(error),
    ));
    return {
      link: (node) => (this.host.current() ? links.open(node) : undefined),
      maxBytes: Math.floor(options.maxInFlightBytes / 2),
    };
  }

  /** Links to other nodes open now. */
  get openCount(): number {
    return this.links?.openCount ?? 0;
  }

  /** Closes this node's links and stops listening. */
  close(): Promise<void> {
    this.links?.close();
    return this.server?.close() ?? Promise.resolve();
  }
}
