import { BackplaneError, SignallingHubError } from '../core/errors.js';
import type {
  Backplane,
  BackplaneHost,
  BackplaneState,
  ClaimResult,
  Envelope,
  ForwardDone,
  ForwardResult,
  NamePage,
  NodeReply,
  ResumeResult,
  RoomJoinResult,
} from '../core/backplane.js';
import type { RelayType } from '../protocol/messages.js';
import { couldBeName } from '../protocol/names.js';
import { decodeUtf8, isWellFormed } from '../protocol/utf8.js';
import type { ClusterBus } from './bus.js';
import { Claims } from './claims.js';
import type { ClusterContext, ClusterTiming } from './context.js';
import { decodeControl, isControl } from './control-codec.js';
import { decodeEnvelopeBytes, decodeEnvelopes, isByteFramed } from './envelope-codec.js';
import { worstCaseGrantBytes } from './grant-bound.js';
import { HandOvers } from './hand-over.js';
import { NodeRequests } from './node-requests.js';
import { checkNamePage } from './name-page.js';
import { MAX_ARRIVING, Resumes } from './resumes.js';
import { type RoomBus, decodeRoomFrame, encodeRoomFrame, isRoomFrame } from './room-bus.js';

/**
 * Largest grant a backplane agrees to publish in one message (Redis cuts a
 * subscriber off past 32 MiB of pending output by default): past it,
 * `start()` refuses the hub's resume bounds.
 */
export const MAX_GRANT_BYTES = 16 * 1024 * 1024;

const UNAVAILABLE: ForwardResult = { delivered: false, reason: 'unavailable' };
const NOT_FOUND: ForwardResult = { delivered: false, reason: 'not-found' };
const NOT_RESUMED: ResumeResult = { resumed: false, reason: 'unavailable' };

/**
 * The protocol between the nodes of a cluster, apart from the medium that
 * carries it (socket.io-adapter's `ClusterAdapter` is the model): fenced
 * claims as nodes see them, forwards and their order, the hand-over of a
 * resuming peer between nodes, and requests between nodes' hosts. A
 * subclass connects a `ClusterBus` (bus.ts: publish to a node's channel, a
 * few atomic steps on the name registry), passes what arrives on its node's
 * channel to `receive()`, and reports its health.
 *
 * Every message on a node's channel is either envelopes (see
 * envelope-codec.ts) or one control message (control-codec.ts); what is
 * malformed is reported and ignored.
 */
export abstract class ClusterBackplane implements Backplane {
  /** This node's id, unique in the cluster. */
  readonly nodeId: string;
  /** @internal The hub served, once started. */
  protected host: BackplaneHost | undefined;
  /** @internal The medium, set by `connectBus()`. */
  protected bus: ClusterBus | undefined;
  /** @internal Rooms on the medium, set by `connectBus()` with `bus`. */
  protected roomBus: RoomBus | undefined;
  /** @internal */
  protected started = false;
  /** @internal */
  protected closed = false;
  /** @internal */
  protected state: BackplaneState = 'connecting';
  /** @internal This node's claims and their re-assertion. */
  protected readonly claims: Claims;
  private readonly handOvers: HandOvers;
  private readonly resumes: Resumes;
  private readonly nodeRequests: NodeRequests;
  /** {@link Resumes.arriving}, read per received envelope. */
  private readonly arriving: Map<string, Envelope[]>;
  private readonly context: ClusterContext;
  /** @internal Largest grant one hand-over may publish: the worst case of the host's resume bounds (see `start()`). */
  protected grantLimit: number;
  private grantLimitSource: string;

  /** @internal */
  protected constructor(
    nodeId: string,
    timing: ClusterTiming,
    /** Names the backplane in the errors it reports, e.g. `Redis`. */
    private readonly label: string,
  ) {
    this.nodeId = nodeId;
    this.grantLimit = timing.maxGrantBytes;
    this.grantLimitSource = timing.maxGrantBytesSource;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the parts read the backplane's live state
    const self = this;
    this.context = {
      nodeId,
      timing,
      get grantLimit() {
        return self.grantLimit;
      },
      get grantLimitSource() {
        return self.grantLimitSource;
      },
      get host() {
        return self.host;
      },
      get bus() {
        return self.bus;
      },
      get started() {
        return self.started;
      },
      get closed() {
        return self.closed;
      },
      report: (error) => this.report(error),
      reportFailure: (error) => this.reportFailure(error),
      forward: (envelope) => this.forward(envelope),
    };
    this.claims = new Claims(this.context);
    this.resumes = new Resumes(this.context, this.claims);
    this.handOvers = new HandOvers(this.context, this.claims, this.resumes);
    this.nodeRequests = new NodeRequests(this.context);
    this.arriving = this.resumes.arriving;
  }

  /**
   * Connects (the hub calls it; `hub.ready` is its promise). Resolves once
   * the bus is reached and this node listens on its channel; until then
   * claims are answered `unavailable`.
   */
  async start(host: BackplaneHost): Promise<void> {
    if (this.host !== undefined) {
      throw new BackplaneError(`${this.constructor.name}.start() was called twice: a backplane serves one hub`);
    }
    this.host = host;
    const bounds = host.resumeBounds;
    if (bounds !== undefined) {
      // By construction, every peer held within the hub's bounds can be handed over.
      this.grantLimit = worstCaseGrantBytes(bounds);
      this.grantLimitSource = 'the worst case of resumeMaxMessages, resumeMaxBytes, maxNameLength and maxCallsPerPeer';
      if (this.grantLimit > MAX_GRANT_BYTES) {
        throw new BackplaneError(
          `The hub's resume bounds allow a hand-over grant of ${this.grantLimit} bytes, more than a ${this.label} backplane publishes in one message (${MAX_GRANT_BYTES}): lower resumeMaxBytes, resumeMaxMessages or maxCallsPerPeer`,
        );
      }
    }
    host.stateChanged(this.state);
    await this.connectBus();
    this.started = true;
    this.joined();
  }

  /**
   * Claims `name` for this node under `claimId`: exactly one of racing claims
   * on any nodes gets `claimed`. A later claim of the name on this node
   * replaces the earlier one's id.
   */
  async claim(name: string, claimId: string): Promise<ClaimResult> {
    // UTF-8 would turn a lone surrogate into U+FFFD: two names, one key. The hub refuses such names first.
    if (!isWellFormed(name)) throw new BackplaneError(`Cannot claim ${JSON.stringify(name)}: names must be well-formed Unicode`);
    const bus = this.bus;
    if (this.closed || !this.started || bus === undefined || !bus.ready) return 'unavailable';
    return this.claims.claim(name, claimId);
  }

  /**
   * Gives `name` back if the cluster still holds it under `claimId`. Fire and
   * forget; a release lost while the bus is away or slow is redone when it answers.
   */
  release(name: string, claimId: string): void {
    this.claims.release(name, claimId);
  }

  /**
   * Sends an envelope to the node holding `envelope.to`: `not-found` when no
   * live node holds it, `unavailable` when the bus is unreachable or busy,
   * or the holder does not listen. At most once; in order per sender.
   */
  forward(envelope: Envelope): Promise<ForwardResult> {
    // Nobody holds a name with a control character or a lone surrogate: a tab would split the
    // envelope's fields between nodes, and in UTF-8 a lone surrogate would reach the U+FFFD name.
    if (!couldBeName(envelope.to)) return Promise.resolve(NOT_FOUND);
    if (this.handOvers.active) {
      // A name being handed over (the core re-forwards what reaches its holder meanwhile): sent once the move is settled.
      const held = this.handOvers.hold(envelope);
      if (held !== undefined) return held;
    }
    const bus = this.bus;
    if (this.closed || bus === undefined || !bus.ready) return Promise.resolve(UNAVAILABLE);
    return bus.forward(envelope);
  }

  /**
   * {@link forward} for the hub's relays, without a promise per envelope: the
   * usual case (no hand-over under way, the bus ready) goes straight to a bus
   * that can take it so; every other case is answered as `forward` answers it.
   */
  forwardRelay(kind: RelayType, from: string, to: string, frame: string | Uint8Array, done: ForwardDone): void {
    const bus = this.bus;
    if (!this.handOvers.active && !this.closed && bus?.ready === true && bus.forwardRelay !== undefined && couldBeName(to)) {
      bus.forwardRelay(kind, from, to, frame, done);
      return;
    }
    const text = typeof frame === 'string' ? frame : decodeUtf8(frame);
    this.forward({ kind, from, fromNode: this.nodeId, to, frame: text }).then(done, (error: unknown) => {
      this.report(error);
      done(UNAVAILABLE);
    });
  }

  /**
   * Resumes `name`, held by a resumable peer on another node, for a login
   * here under `claimId`: the holder's node checks `token`, moves the claim
   * here and publishes the grant in one atomic step, so that relays sent
   * after the move arrive after the held ones. `not-held` when no live node
   * (or this one) holds the name; `refused` when the holder refused;
   * `unavailable` when the bus or the holder did not answer within two
   * command timeouts (the move then cannot take effect any more, but for a
   * grant already on its way: see docs/CLUSTER.md).
   */
  resume(name: string, token: string, claimId: string): Promise<ResumeResult> {
    if (!isWellFormed(name)) throw new BackplaneError(`Cannot resume ${JSON.stringify(name)}: names must be well-formed Unicode`);
    const bus = this.bus;
    if (this.closed || !this.started || bus === undefined || !bus.ready) return Promise.resolve(NOT_RESUMED);
    const busy = bus.congestion();
    if (busy !== undefined) {
      this.reportFailure(busy);
      return Promise.resolve(NOT_RESUMED);
    }
    return this.resumes.resume(name, token, claimId);
  }

  /**
   * Sends `payload` on `channel` to node `nodeId`'s host and waits for its
   * answer: published on the node's channel, answered on this node's.
   * `not-found` when nobody listens there (the node is gone), `unavailable`
   * when the bus is not reachable, `timeout` after `timeoutMs` (default two
   * command timeouts) without an answer.
   */
  sendToNode(nodeId: string, channel: string, payload: string, options?: { readonly timeoutMs?: number }): Promise<NodeReply> {
    return this.nodeRequests.send(nodeId, channel, payload, options);
  }

  // --- Rooms (see room-bus.ts): membership on the medium, one publish per node holding members ---

  /** Adds `name` of this node to `room` cluster-wide unless it is full; `unavailable` when the bus is. */
  joinRoom(room: string, name: string, maxMembers: number, announce: string): Promise<RoomJoinResult> {
    const rooms = this.roomBus;
    if (this.closed || rooms === undefined || !this.bus!.ready) return Promise.resolve({ joined: false, reason: 'unavailable' });
    return rooms.join(room, name, maxMembers, encodeRoomFrame(this.nodeId, announce));
  }

  /** Removes `name` of this node from `room` cluster-wide. */
  async partRoom(room: string, name: string, announce: string): Promise<void> {
    if (this.closed || this.roomBus === undefined) return;
    await this.roomBus.part(room, name, encodeRoomFrame(this.nodeId, announce));
  }

  /** Sends a room message to each other node holding members of `room`, once per node. */
  async publishToRoom(room: string, message: string): Promise<void> {
    if (this.closed || this.roomBus === undefined || !this.bus!.ready) return;
    await this.roomBus.publish(room, encodeRoomFrame(this.nodeId, message));
  }

  /** The members of `room` on every live node, in join order. */
  async roomMembers(room: string): Promise<ReadonlyArray<readonly [string, string]>> {
    if (this.roomBus === undefined) return [];
    return this.roomBus.members(room);
  }

  /** The live node holding `name`, if any. */
  async locate(name: string): Promise<string | undefined> {
    if (this.closed || this.roomBus === undefined || !isWellFormed(name)) return undefined;
    return this.roomBus.holder(name);
  }

  /** Moves the memberships of `name` from `fromNode` to this node (it resumed here). */
  async moveRooms(name: string, fromNode: string): Promise<Array<readonly [string, ReadonlyArray<readonly [string, string]>]>> {
    if (this.closed || this.roomBus === undefined) return [];
    return this.roomBus.move(name, fromNode);
  }

  /** The rooms with members on any node. */
  async roomList(): Promise<readonly string[]> {
    if (this.roomBus === undefined) return [];
    return this.roomBus.list();
  }

  /**
   * One page of the names live nodes other than this one hold, after `after`
   * in code-unit order, at most `limit` (1 to 10,000). Each page reads every
   * name in the cluster, a bounded step at a time: opt-in listings suit
   * clusters of up to about 100,000 names. Rejects with a
   * {@link BackplaneError} when the bus is not reachable.
   */
  async namePage(after: string, limit: number): Promise<NamePage> {
    checkNamePage(after, limit);
    const bus = this.bus;
    if (this.closed || !this.started || bus === undefined || !bus.ready) {
      throw new BackplaneError(`Cannot list names: the ${this.label} backplane is not connected`);
    }
    return bus.namePage(after, limit);
  }

  /** Releases this node's names, answers what waits `unavailable` and disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Grants kept for peers that may still come back cannot wait any more: they end as on expiry.
    this.resumes.abandonAllKept();
    this.closing();
    // Before `closed`: the parts of the peers the hub closed went first, on the same connection.
    this.roomBus?.flush?.();
    if (this.roomBus !== undefined && this.bus?.ready === true)
      await this.roomBus.leaveNode(this.nodeId).catch((error: unknown) => this.report(error));
    this.closed = true;
    await this.leaveBus();
    this.claims.clear();
    this.resumes.close();
    this.nodeRequests.close();
    this.handOvers.close();
    await this.disconnectBus();
    this.setState('closed');
  }

  /** @internal Connects to the bus, sets `bus`, listens on this node's channel and re-asserts; rejects (having cleaned up) on failure. */
  protected abstract connectBus(): Promise<void>;
  /** @internal Started: e.g. begin heartbeats. */
  protected abstract joined(): void;
  /** @internal Called once as `close()` begins, before anything is refused: e.g. send what is queued. */
  protected abstract closing(): void;
  /** @internal Gives this node's names and registration back (the node is closed already). */
  protected abstract leaveBus(): Promise<void>;
  /** @internal Closes the connections to the bus. */
  protected abstract disconnectBus(): Promise<void>;

  /**
   * @internal A message on this node's channel: envelopes, delivered in the
   * order sent, or one control message. As bytes (a Redis subscription),
   * byte-framed envelopes (a FORWARD batch) are read from the bytes, without
   * turning the whole batch into text first; anything else is read as text.
   */
  protected receive(message: string | Buffer): void {
    if (typeof message !== 'string') {
      if (isByteFramed(message)) {
        this.deliverAll(decodeEnvelopeBytes(message));
        return;
      }
      message = message.toString();
    }
    const text = message;
    if (isControl(text)) {
      this.control(text);
      return;
    }
    if (isRoomFrame(text)) {
      const frame = decodeRoomFrame(text);
      if (frame === undefined)
        this.report(new BackplaneError(`Ignored a malformed room message on node ${this.nodeId}'s channel`));
      else this.host?.roomMessage?.(frame[0], frame[1]);
      return;
    }
    this.deliverAll(decodeEnvelopes(text));
  }

  private deliverAll(envelopes: Envelope[] | undefined): void {
    if (envelopes === undefined) {
      this.report(new BackplaneError(`Ignored a malformed envelope on node ${this.nodeId}'s channel`));
      return;
    }
    // In the order sent; a peer that left meanwhile: dropped (at most once).
    for (const envelope of envelopes) this.deliverOne(envelope);
  }

  /**
   * @internal Delivers one envelope from another node: to a peer resuming here, held until its
   * grant came; else to the host. False when its target is not here.
   */
  protected deliverOne(envelope: Envelope): boolean {
    if (this.arriving.size > 0) {
      const waiting = this.arriving.get(envelope.to);
      if (waiting !== undefined) {
        if (waiting.push(envelope) >= MAX_ARRIVING) this.resumes.overflowed(envelope.to);
        return true;
      }
    }
    return this.host?.deliver(envelope) === true;
  }

  private control(text: string): void {
    const message = decodeControl(text);
    if (message === undefined) {
      this.report(new BackplaneError(`Ignored a malformed control message on node ${this.nodeId}'s channel`));
      return;
    }
    switch (message.t) {
      case 'resume':
        this.handOvers.requested(message);
        return;
      case 'resume-refused':
        this.resumes.refused(message);
        return;
      case 'resume-grant':
        this.resumes.granted(message);
        return;
      case 'handed':
        this.handOvers.marked(message.id, message.name);
        return;
      case 'resume-tail':
        this.resumes.tailed(message);
        return;
      case 'node-request':
        this.nodeRequests.requested(message);
        return;
      case 'node-reply':
        this.nodeRequests.answered(message);
        return;
    }
  }

  /** @internal Tells the host of a state change (once per change). */
  protected setState(next: BackplaneState): void {
    if (next === this.state) return;
    this.state = next;
    this.host?.stateChanged(next);
  }

  /** @internal Reports a failed bus command; subclasses decide what is worth telling (e.g. once per outage). */
  protected reportFailure(error: unknown): void {
    this.report(error);
  }

  /** @internal Reports a failure on the host's `error` event. */
  protected report(error: unknown): void {
    const reported =
      error instanceof SignallingHubError
        ? error
        : new BackplaneError(`${this.label} backplane failure: ${messageOf(error)}`, error);
    this.host?.error(reported);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
