import { BackplaneError } from '../core/errors.js';
import type { NodeReply } from '../core/backplane.js';
import { isWellFormed } from '../protocol/utf8.js';
import type { ClusterContext } from './context.js';
import { MAX_NODE_PAYLOAD, type NodeAnswer, type NodeRequest, encodeNodeAnswer, encodeNodeRequest } from './control-codec.js';

const NODE_UNAVAILABLE: NodeReply = { delivered: false, reason: 'unavailable' };
const NODE_NOT_FOUND: NodeReply = { delivered: false, reason: 'not-found' };
const NODE_TIMEOUT: NodeReply = { delivered: false, reason: 'timeout' };

/**
 * Requests between the hosts of two nodes (the HTTP fallback forwards a
 * request for a session held on another node with them): published on the
 * far node's channel, answered on the asker's, each waited for with a
 * timeout so that a node that died never leaves a request hanging.
 */
export class NodeRequests {
  /** Requests sent and not answered yet, by request id. */
  private readonly pending = new Map<string, (reply: NodeReply) => void>();

  constructor(private readonly node: ClusterContext) {}

  /**
   * Sends `payload` on `channel` to node `nodeId`'s host and waits for its
   * answer: `not-found` when nobody listens there (the node is gone),
   * `unavailable` when the bus is not reachable, `timeout` after `timeoutMs`
   * (default two command timeouts) without an answer.
   */
  send(nodeId: string, channel: string, payload: string, options: { readonly timeoutMs?: number } = {}): Promise<NodeReply> {
    if (payload.length > MAX_NODE_PAYLOAD || !isWellFormed(payload)) {
      throw new BackplaneError(
        `Cannot send to node ${nodeId}: the payload must be well-formed text of at most ${MAX_NODE_PAYLOAD} characters`,
      );
    }
    const bus = this.node.bus;
    if (this.node.closed || !this.node.started || bus === undefined || !bus.ready) return Promise.resolve(NODE_UNAVAILABLE);
    const id = globalThis.crypto.randomUUID();
    const message = encodeNodeRequest({ id, node: this.node.nodeId, channel, payload });
    return new Promise<NodeReply>((resolve) => {
      const settle = (reply: NodeReply) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        resolve(reply);
      };
      const timer = setTimeout(() => settle(NODE_TIMEOUT), options.timeoutMs ?? 2 * this.node.timing.commandTimeout);
      this.pending.set(id, settle);
      bus.publish(nodeId, message).then(
        (receivers) => {
          if (receivers === 0) settle(NODE_NOT_FOUND);
        },
        (error: unknown) => {
          this.node.reportFailure(error);
          settle(NODE_UNAVAILABLE);
        },
      );
    });
  }

  /** An answer from another node (one given up on already, after its timeout: nothing to do). */
  answered(message: NodeAnswer): void {
    this.pending.get(message.id)?.({ delivered: true, reply: message.reply ?? undefined });
  }

  /** A request from another node: the host answers it, and the answer goes to that node's channel. */
  requested(request: NodeRequest): void {
    const host = this.node.host;
    if (request.node === this.node.nodeId) {
      this.node.report(new BackplaneError(`Ignored a node request on ${JSON.stringify(request.channel)} from this node itself`));
      return;
    }
    const send = (reply: string | undefined) => {
      const bus = this.node.bus;
      if (bus === undefined || !bus.ready || this.node.closed) return;
      if (reply !== undefined && (reply.length > MAX_NODE_PAYLOAD || !isWellFormed(reply))) {
        this.node.report(
          new BackplaneError(`Dropped an answer on ${JSON.stringify(request.channel)}: too large or not well-formed`),
        );
        reply = undefined;
      }
      bus.publish(request.node, encodeNodeAnswer(request.id, reply)).catch((error: unknown) => this.node.reportFailure(error));
    };
    let answer: Promise<string | undefined> | string | undefined;
    try {
      answer = host?.nodeMessage?.(request.node, request.channel, request.payload);
    } catch (error) {
      this.node.report(error);
      send(undefined);
      return;
    }
    if (typeof answer === 'object') {
      answer.then(send, (error: unknown) => {
        this.node.report(error);
        send(undefined);
      });
    } else send(answer);
  }

  /** The node leaves: waiting requests are answered `unavailable`. */
  close(): void {
    for (const settle of [...this.pending.values()]) settle(NODE_UNAVAILABLE);
  }
}
