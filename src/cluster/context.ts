import type { BackplaneHost, Envelope, ForwardResult } from '../core/backplane.js';
import type { ClusterBus } from './bus.js';

/** The bus's pace, from which a cluster backplane's waits derive. */
export interface ClusterTiming {
  /** How long one bus command may take, in ms: waits on the bus are multiples of it. */
  readonly commandTimeout: number;
  /** How often, in ms, to ask again about a hand-over whose answer was lost. */
  readonly retryInterval: number;
  /**
   * Largest grant (held relays and calls of a resuming peer) one hand-over
   * may publish, in UTF-8 bytes, for a host that does not say what it holds
   * at most (`BackplaneHost.resumeBounds`); otherwise the worst case of those
   * bounds is the limit (grant-bound.ts).
   */
  readonly maxGrantBytes: number;
  /** What sets `maxGrantBytes`, for the error that says a grant was too large (e.g. `maxInFlightBytes / 4`). */
  readonly maxGrantBytesSource: string;
}

/** What the parts of a cluster backplane (claims, hand-overs, node requests) share. */
export interface ClusterContext {
  readonly nodeId: string;
  readonly timing: ClusterTiming;
  /** Largest grant or tail one hand-over may publish, in UTF-8 bytes (set at start, from the host's resume bounds). */
  readonly grantLimit: number;
  /** What sets `grantLimit`, for the error that says a grant was too large. */
  readonly grantLimitSource: string;
  /** The hub served, once started. */
  readonly host: BackplaneHost | undefined;
  /** The bus, once connecting. */
  readonly bus: ClusterBus | undefined;
  readonly started: boolean;
  readonly closed: boolean;
  /** Reports a failure to the host. */
  report(error: unknown): void;
  /** Reports a failed bus command (the backplane decides what is worth telling, e.g. once per outage). */
  reportFailure(error: unknown): void;
  /** Forwards an envelope as the backplane does (names being handed over included). */
  forward(envelope: Envelope): Promise<ForwardResult>;
}
