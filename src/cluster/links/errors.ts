import { SignallingHubError } from '../../common/errors.js';

/** Stable codes of node links' errors. Match on `error.code` or on the class. */
export type NodeLinkErrorCode =
  /** A link to another node failed or was refused; what was in flight on it is answered `unavailable`. */
  'SH_ERR_NODE_LINK';

/** Why a node link failed. */
export type NodeLinkFailure =
  /** The connection could not be made or was lost. */
  | 'lost'
  /** The far node did not answer a batch within `commandTimeout`. */
  | 'timeout'
  /** Too many bytes were in flight on the link or waiting behind it. */
  | 'busy'
  /** The far node broke the link protocol (a frame too large or malformed, a wrong secret). */
  | 'protocol';

/**
 * A link to another node failed (`SH_ERR_NODE_LINK`): the messages in flight on it are answered
 * `unavailable` (they may have been delivered: at most once, never re-sent), and messages go
 * through Redis until the link is made again.
 */
export class NodeLinkError extends SignallingHubError<'SH_ERR_NODE_LINK'> {
  constructor(
    /** The node at the far end. */
    readonly node: string,
    readonly failure: NodeLinkFailure,
    message: string,
    cause?: unknown,
  ) {
    super('SH_ERR_NODE_LINK', `Link to node ${node}: ${message}`, cause === undefined ? undefined : { cause });
  }
}
