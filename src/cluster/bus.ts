import type { Envelope, ForwardDone, ForwardResult, NamePage } from '../core/backplane.js';
import type { RelayType } from '../protocol/messages.js';

/*
 * What a cluster backplane needs from the medium between its nodes (Redis,
 * or memory in tests): a channel per node to publish on, and a few atomic
 * steps on the shared name registry. Everything else (fencing as nodes see
 * it, the hand-over on resume, node requests, their order and timeouts) is
 * written once in ClusterBackplane on top of it.
 *
 * Order: a bus delivers what is published to one node's channel in the order
 * it was published, and each operation below that checks a claim and
 * publishes does both atomically: that is what keeps one sender's envelopes
 * in order across a hand-over.
 */

/** `claim`'s answer: the names live nodes other than this one hold, or why nothing was claimed. */
export type ClaimReply =
  | readonly string[]
  /** This node's own registration (lease) is gone: re-assert everything, then claim again. */
  | 'lapsed'
  /** The bus ran the claim after its deadline: nothing was claimed. */
  | 'expired';

/** `requestHandOver`'s answer: who holds the name and whether it heard the request. */
export type HandOverRequestReply =
  | {
      /** The node holding the name (`''`: none that lives; this node's id: it holds it itself: nothing was sent). */
      readonly holder: string;
      /** How many listeners got the request (0: the holder does not listen). */
      readonly receivers: number;
    }
  | 'expired';

/** One atomic move of a name's claim to the node where it resumes. */
export interface HandOverMove {
  /** The resume request's id. */
  readonly id: string;
  readonly name: string;
  /** This node's claim id of the name: the move happens only if the claim is still that. */
  readonly claimId: string;
  /** The resuming node and its claim id. */
  readonly to: string;
  readonly toClaimId: string;
  /** Bus time after which the move must not happen (`'0'`: none). */
  readonly deadline: string;
  /** Published on the resuming node's channel before the claim moves. */
  readonly grant: string;
  /** Published on this node's own channel after the claim moved. */
  readonly marker: string;
}

/**
 * `handOver`'s answer: `moved` (with whether this node's own channel heard
 * the marker), or why nothing changed: `not-held` (the claim is no longer
 * this login's), `expired`, `gone` (the resuming node is not alive), `deaf`
 * (nobody listens on its channel).
 */
export type HandOverReply =
  | { readonly moved: true; readonly markerHeard: boolean }
  | { readonly moved: false; readonly reason: 'not-held' | 'expired' | 'gone' | 'deaf' };

/**
 * What a failed bus command means: `not-sent` (it had no effect),
 * `unknown` (sent, no answer in time: it may still take effect until its
 * deadline), `failed` (the bus answered with an error).
 */
export type CommandOutcome = 'not-sent' | 'unknown' | 'failed';

/** The operations a cluster's medium supplies to `ClusterBackplane`. */
export interface ClusterBus {
  /** Whether commands can be sent now. */
  readonly ready: boolean;
  /** Why control commands (resumes, hand-over checks) would be refused now for lack of room, if they would. */
  congestion(): Error | undefined;
  /** The bus time after which a command sent now (plus `extra` ms) must not take effect; `'0'` for none. */
  deadline(extra?: number): string;
  /** What a rejection of one of the operations below means. */
  outcomeOf(error: unknown): CommandOutcome;
  /**
   * Claims names for this node under their claim ids, atomically per name: a
   * name is free when unset, already this node's (its claim id is replaced)
   * or held by a node that is not alive.
   */
  claim(claims: ReadonlyArray<readonly [name: string, claimId: string]>): Promise<ClaimReply>;
  /** Releases names this node holds under the claim ids given (`''`: under any claim of this node). */
  release(claims: ReadonlyArray<readonly [name: string, claimId: string]>): Promise<unknown>;
  /** The names the bus records for this node. */
  ownNames(): Promise<readonly string[]>;
  /** Re-asserts this node's registration; `false` when another live process holds its id. */
  refresh(): Promise<boolean>;
  /** Publishes `envelope` to the node holding `envelope.to` (checked atomically with the publish). */
  forward(envelope: Envelope): Promise<ForwardResult>;
  /**
   * Optional: {@link forward} without a promise per envelope, in the same
   * order as `forward` calls (see `Backplane.forwardRelay`: the frame's bytes
   * are valid only during the call; `done` is told the outcome, never within it).
   */
  forwardRelay?(kind: RelayType, from: string, to: string, frame: string | Uint8Array, done: ForwardDone): void;
  /** Publishes `text` on node `nodeId`'s channel; resolves with how many listeners got it. */
  publish(nodeId: string, text: string): Promise<number>;
  /** Finds the node holding `name` and, if it is another live node, publishes `request` on its channel (atomically). */
  requestHandOver(name: string, request: string): Promise<HandOverRequestReply>;
  /** Moves a claim to a resuming node, publishing the grant and the marker, in one atomic step. */
  handOver(move: HandOverMove): Promise<HandOverReply>;
  /**
   * One page of the names live nodes other than this one hold: the `limit`
   * smallest after `after`, in code-unit order (see `NamePicker`). Reads the
   * registry in bounded steps.
   */
  namePage(after: string, limit: number): Promise<NamePage>;
  /** After a `handOver` whose answer was lost: whether it happened (`undefined`: not known yet, ask again). */
  handedOver(id: string, deadline: string): Promise<boolean | undefined>;
}
