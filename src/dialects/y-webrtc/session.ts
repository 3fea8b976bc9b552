import { randomBytes } from 'node:crypto';
import { Admission, RateLimiter } from '../../core/rate-limiter.js';
import type { ConnectionInfo, Transport, TransportSession } from '../../core/transport.js';
import { CloseCode } from '../../protocol/close-codes.js';
import type { YWebrtcContext } from './context.js';
import { isPlainPublish, TOPIC_START } from './publish-scan.js';
import { roomOfTopic } from './topics.js';
import { errorFrame, HUB_BROADCAST_PREFIX, hubBroadcast, hubJoin, hubPart, PONG_FRAME, YWebrtcErrorCode } from './wire.js';

const decoder = new TextDecoder();

/** Where a topic of this connection stands with the hub. */
const enum Phase {
  /** `join` sent, no answer yet: publishes wait (in a cluster the join is decided there). */
  Joining,
  /** A member: publishes go out. */
  Joined,
  /** Unsubscribed while `Joining`: the join's success is followed by a `part`. */
  Leaving,
}

interface TopicState {
  readonly topic: string;
  phase: Phase;
  /** The other members (hub names), from the join reply, `joined` and `parted`. */
  readonly members: Set<string>;
  /** Publishes made while `Joining`, sent once the join succeeds. */
  pending: Record<string, unknown>[] | undefined;
  /** Their frames' length in all (counted in the session's `heldBytes`). */
  pendingBytes: number;
}

/** Close code when the hub refuses the dialect's login (`authenticate` said no). */
const UNAUTHORIZED = 4401;
/** Close code when the hub cannot take a login now (closing, backplane down): come back later. */
const TRY_AGAIN_LATER = 1013;

/**
 * One y-webrtc connection: to the ws adapter it is the hub session
 * (y-webrtc frames in → hub frames), to the hub it is the transport (hub
 * frames out → y-webrtc frames). It logs in at once with a name of its own
 * making; topics are rooms.
 */
export class YWebrtcSession implements Transport, TransportSession {
  private inner: TransportSession | undefined;
  /** Hub name: `y-webrtc:` and 128 random bits, so nobody can guess it to address the connection. */
  readonly name = 'y-webrtc:' + randomBytes(16).toString('base64url');
  private loggedIn = false;
  private ended = false;
  /** Frames that came before the login's answer, handled after it. */
  private early: string[] | undefined = [];
  /** Topics by the JSON of their room (the hub's frames carry it so: no parse to find one). */
  private readonly topics = new Map<string, TopicState>();
  /**
   * The hub's rate limit, applied to every client frame (a `ping` never reaches the hub) and to
   * every hub frame past one per client frame (a subscribe of several topics is several joins).
   * Charged at least as much as the hub's own limiter, and never later, it runs dry first: the hub
   * never drops a join silently, which would leave a topic waiting for an answer.
   */
  private limiter: RateLimiter | undefined;
  /** Client frames admitted that no hub frame has used yet. */
  private credits = 0;
  /** Length of the frames held (before the login's answer, and publishes waiting for their subscribe): at most the hub's `maxPendingBytes`. */
  private heldBytes = 0;
  /** The topic last published to and its room's JSON: a provider publishes to a few topics, mostly one. */
  private lastTopic = '';
  private lastRoomJson = '';

  constructor(
    private readonly context: YWebrtcContext,
    private readonly transport: Transport,
  ) {}

  start(info: ConnectionInfo): void {
    const context = this.context;
    const rateLimit = context.port.options.rateLimit;
    if (rateLimit !== false) {
      this.limiter = new RateLimiter(rateLimit.messagesPerSecond, rateLimit.burst, Date.now());
      // The login below counts in the hub's limiter too.
      this.limiter.admit(Date.now());
    }
    context.sessions.add(this);
    this.inner = context.port.open(this, info);
    if (this.ended) return;
    this.inner.receive(JSON.stringify({ type: 'login', name: this.name, yWebrtc: context.loginMark }));
  }

  // --- The hub's transport: hub frames out, y-webrtc frames to the client ---

  send(message: string | Uint8Array): void {
    const text = typeof message === 'string' ? message : decoder.decode(message);
    if (text.startsWith(HUB_BROADCAST_PREFIX)) return this.broadcastOut(text);
    let frame: Record<string, unknown> | null;
    try {
      frame = JSON.parse(text) as Record<string, unknown> | null;
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    switch (frame.type) {
      case 'login':
        if (!this.loggedIn) this.loginReply(frame);
        return;
      case 'join':
        return this.joinReply(frame);
      case 'part':
        if (frame.success === true) {
          // The host's `hub.part()` (this connection's own unsubscribe forgot the topic already).
          const roomJson = JSON.stringify(frame.room);
          if (this.topics.get(roomJson)?.phase === Phase.Joined) this.topics.delete(roomJson);
        }
        return;
      case 'joined':
      case 'parted': {
        const state = this.topics.get(JSON.stringify(frame.room));
        if (state?.phase !== Phase.Joined || typeof frame.name !== 'string') return;
        if (frame.type === 'joined') state.members.add(frame.name);
        else state.members.delete(frame.name);
        return;
      }
      case 'ice-servers':
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'leave':
        // Calls by name are the hub's own protocol: a y-webrtc client signals through publish.
        return;
      default:
        // `error` frames (the client ignores them harmlessly) and the host's own messages (`hub.send`).
        this.transport.send(text);
    }
  }

  /** `{"type":"broadcast","room":R[,"name":N],"data":D}`: D, the publish as its sender's node framed it, goes out as is. */
  private broadcastOut(text: string): void {
    // Neither `,"name":` nor `,"data":` can occur inside a JSON string (its quotes are escaped).
    const dataAt = text.indexOf(',"data":');
    if (dataAt < 0) return;
    const nameAt = text.indexOf(',"name":');
    const roomJson = text.slice(HUB_BROADCAST_PREFIX.length, nameAt >= 0 && nameAt < dataAt ? nameAt : dataAt);
    if (!this.topics.has(roomJson)) return;
    // The client reads `publish` objects only; the host's `hub.broadcast()` of anything else is not one.
    if (text.charCodeAt(dataAt + 8) !== 0x7b /* { */) return;
    this.transport.send(text.slice(dataAt + 8, -1));
  }

  private loginReply(frame: Record<string, unknown>): void {
    if (frame.success !== true) {
      const reason = typeof frame.reason === 'string' ? frame.reason : 'unauthorized';
      this.transport.send(errorFrame(reason, typeof frame.message === 'string' ? frame.message : 'Login refused'));
      this.transport.close(reason === 'unauthorized' ? UNAUTHORIZED : TRY_AGAIN_LATER, reason);
      return;
    }
    this.loggedIn = true;
    const early = this.early;
    this.early = undefined;
    this.heldBytes = 0;
    if (early !== undefined) for (const text of early) this.handle(text);
  }

  private joinReply(frame: Record<string, unknown>): void {
    const room = frame.room;
    if (typeof room !== 'string') return;
    const roomJson = JSON.stringify(room);
    let state = this.topics.get(roomJson);
    if (frame.success !== true) {
      if (state === undefined || state.phase === Phase.Joined) return;
      this.topics.delete(roomJson);
      this.heldBytes -= state.pendingBytes;
      if (state.phase === Phase.Leaving) return;
      const reason = typeof frame.reason === 'string' ? frame.reason : 'forbidden';
      this.transport.send(
        errorFrame(reason, typeof frame.message === 'string' ? frame.message : 'Subscribe refused', state.topic),
      );
      return;
    }
    const members = Array.isArray(frame.members) ? (frame.members as unknown[]).filter((m) => typeof m === 'string') : [];
    if (state === undefined) {
      // The host joined this connection to a topic (`hub.join()`): it is subscribed now.
      const topic = this.context.topicOf(room);
      if (topic === undefined) return;
      state = { topic, phase: Phase.Joined, members: new Set(), pending: undefined, pendingBytes: 0 };
      this.topics.set(roomJson, state);
    }
    if (state.phase === Phase.Leaving) {
      this.topics.delete(roomJson);
      this.toHub(hubPart(roomJson), state.topic);
      return;
    }
    state.members.clear();
    for (const member of members) state.members.add(member);
    state.phase = Phase.Joined;
    const pending = state.pending;
    state.pending = undefined;
    this.heldBytes -= state.pendingBytes;
    state.pendingBytes = 0;
    if (pending !== undefined) for (const message of pending) this.publish(roomJson, state, message);
  }

  close(code: number, reason: string): void {
    this.transport.close(code, reason);
  }

  terminate(): void {
    if (this.transport.terminate !== undefined) this.transport.terminate();
    else this.transport.close(1006, '');
  }

  get bufferedAmount(): number | undefined {
    return this.transport.bufferedAmount;
  }

  // --- The adapter's session: y-webrtc frames in, hub frames to the hub ---

  receive(message: string | Uint8Array): void {
    if (this.inner === undefined || this.ended) return;
    const admission = this.limiter?.admit(Date.now()) ?? Admission.Accept;
    if (admission !== Admission.Accept) {
      if (admission === Admission.Disconnect) this.transport.close(CloseCode.TooManyMessages, 'rate limit exceeded');
      else this.transport.send(errorFrame('rate-limited', 'Too many messages: this one was dropped'));
      return;
    }
    this.credits++;
    // The usual publish, checked without parsing: the hub parses the broadcast it becomes.
    if (typeof message !== 'string' && this.early === undefined && isPlainPublish(message) && this.plainPublish(message)) return;
    const text = typeof message === 'string' ? message : decoder.decode(message);
    if (this.early !== undefined) {
      const options = this.context.port.options;
      if (this.early.length < options.maxPendingMessages && this.heldBytes + text.length <= options.maxPendingBytes) {
        this.early.push(text);
        this.heldBytes += text.length;
      } else this.transport.send(errorFrame('login-pending', 'Too many messages before the connection was ready: dropped'));
      return;
    }
    this.handle(text);
  }

  private handle(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return this.transport.send(errorFrame(YWebrtcErrorCode.InvalidJson, 'Invalid message: not JSON'));
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return this.transport.send(errorFrame(YWebrtcErrorCode.InvalidMessage, 'Invalid message: not a JSON object'));
    }
    const frame = message as Record<string, unknown>;
    switch (frame.type) {
      case 'ping':
        return this.transport.send(PONG_FRAME);
      case 'subscribe':
      case 'unsubscribe': {
        const topics = frame.topics ?? [];
        if (!Array.isArray(topics)) {
          return this.transport.send(
            errorFrame(YWebrtcErrorCode.InvalidMessage, `Invalid message: ${frame.type} needs "topics", an array of strings`),
          );
        }
        for (const topic of topics as unknown[]) {
          if (typeof topic !== 'string') {
            this.transport.send(errorFrame(YWebrtcErrorCode.InvalidMessage, `Invalid message: a topic must be a string`));
          } else if (frame.type === 'subscribe') this.subscribe(topic);
          else this.unsubscribe(topic);
        }
        return;
      }
      case 'publish': {
        const topic = frame.topic;
        // The reference server ignores a publish without a topic; a non-string one is answered.
        if (topic === undefined || topic === null || topic === '') return;
        if (typeof topic !== 'string') {
          return this.transport.send(
            errorFrame(YWebrtcErrorCode.InvalidMessage, 'Invalid message: publish needs "topic", a string'),
          );
        }
        const room = roomOfTopic(topic, this.context.options.roomPrefix);
        const roomJson = JSON.stringify(room);
        const state = this.topics.get(roomJson);
        if (state === undefined || state.phase === Phase.Leaving) {
          if (this.context.options.publishWithoutSubscribe) return this.context.publishAway(room, frame);
          return this.transport.send(
            errorFrame(YWebrtcErrorCode.NotInRoom, 'Publish refused: subscribe to the topic first', topic),
          );
        }
        if (state.phase === Phase.Joined) return this.publish(roomJson, state, frame);
        state.pending ??= [];
        const options = this.context.port.options;
        if (state.pending.length < options.maxPendingMessages && this.heldBytes + text.length <= options.maxPendingBytes) {
          state.pending.push(frame);
          state.pendingBytes += text.length;
          this.heldBytes += text.length;
        } else
          this.transport.send(
            errorFrame(YWebrtcErrorCode.SubscribePending, 'Publish dropped: the subscription is not confirmed yet', topic),
          );
        return;
      }
      default:
        // The reference server ignores other types; so does this one (newer clients may send more).
        if (typeof frame.type !== 'string') {
          this.transport.send(errorFrame(YWebrtcErrorCode.InvalidMessage, 'Invalid message: no type'));
        }
    }
  }

  /** Passes a frame to the hub if the rate limit lets it (see {@link limiter}); else answers and returns `false`. */
  private toHub(frame: string, topic: string): boolean {
    if (this.credits > 0) this.credits--;
    else if (this.limiter !== undefined) {
      const admission = this.limiter.admit(Date.now());
      if (admission !== Admission.Accept) {
        if (admission === Admission.Disconnect) this.transport.close(CloseCode.TooManyMessages, 'rate limit exceeded');
        else this.transport.send(errorFrame('rate-limited', 'Too many messages: this topic was dropped', topic));
        return false;
      }
    }
    this.inner?.receive(frame);
    return true;
  }

  private subscribe(topic: string): void {
    const roomJson = JSON.stringify(roomOfTopic(topic, this.context.options.roomPrefix));
    const state = this.topics.get(roomJson);
    if (state !== undefined) {
      if (state.phase === Phase.Leaving) state.phase = Phase.Joining;
      return;
    }
    if (this.topics.size >= this.context.port.options.maxRoomsPerPeer) {
      this.transport.send(
        errorFrame(
          YWebrtcErrorCode.TooManyRooms,
          `Subscribe refused: at most ${this.context.port.options.maxRoomsPerPeer} topics per connection`,
          topic,
        ),
      );
      return;
    }
    const joining: TopicState = { topic, phase: Phase.Joining, members: new Set(), pending: undefined, pendingBytes: 0 };
    // The reply may come at once (one node): the state is in place before.
    this.topics.set(roomJson, joining);
    if (!this.toHub(hubJoin(roomJson), topic) && this.topics.get(roomJson) === joining) this.topics.delete(roomJson);
  }

  private unsubscribe(topic: string): void {
    const roomJson = JSON.stringify(roomOfTopic(topic, this.context.options.roomPrefix));
    const state = this.topics.get(roomJson);
    if (state === undefined) return;
    if (state.phase === Phase.Joining) {
      state.phase = Phase.Leaving;
      state.pending = undefined;
      this.heldBytes -= state.pendingBytes;
      state.pendingBytes = 0;
      return;
    }
    if (state.phase === Phase.Joined) {
      this.topics.delete(roomJson);
      this.toHub(hubPart(roomJson), topic);
    }
  }

  /**
   * A publish {@link isPlainPublish} found well-formed, to a topic this connection is a member of:
   * its text gets `clients` appended (the reference server's `JSON.stringify` puts it last too).
   * `false`: not a member yet (or not subscribed), for the parsing path to answer.
   */
  private plainPublish(message: Uint8Array): boolean {
    const text = decoder.decode(message);
    const topic = text.slice(TOPIC_START, text.indexOf('"', TOPIC_START));
    if (topic !== this.lastTopic) {
      this.lastRoomJson = JSON.stringify(roomOfTopic(topic, this.context.options.roomPrefix));
      this.lastTopic = topic;
    }
    const roomJson = this.lastRoomJson;
    const state = this.topics.get(roomJson);
    if (state?.phase !== Phase.Joined) return false;
    this.sendPublish(roomJson, state, text.slice(0, -1) + ',"clients":' + (state.members.size + 1) + '}');
    return true;
  }

  /** To every subscriber, this connection included, as y-webrtc's server does: `clients` counts them. */
  private publish(roomJson: string, state: TopicState, message: Record<string, unknown>): void {
    message.clients = state.members.size + 1;
    this.sendPublish(roomJson, state, JSON.stringify(message));
  }

  private sendPublish(roomJson: string, state: TopicState, dataJson: string): void {
    if (!this.toHub(hubBroadcast(roomJson, dataJson), state.topic)) return;
    // The hub sends no echo: the sender's own copy, after the others' (the order is the reference's only per receiver).
    if (!this.ended) this.transport.send(dataJson);
  }

  receiveBinary(): void {
    this.transport.send(errorFrame(YWebrtcErrorCode.BinaryNotSupported, 'Invalid message: binary frames are not supported'));
  }

  closed(code?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.context.sessions.delete(this);
    this.topics.clear();
    // Every close is a goodbye: a y-webrtc client reconnects with a fresh connection and subscribes again.
    this.inner?.closed(code === 1001 ? 1001 : 1000);
  }
}
