import type { HubEvents, HubOptions, HubStats, Peer, SignallingHub, Transport } from '../../src/index.js';
import type { Frame } from '../helpers/test-client.js';

/**
 * The side of a conversation a client is on. Single-node transports ignore it;
 * the two-node cluster puts every caller on node 1 and every callee on node 2,
 * so that each case that talks between a caller and a callee crosses Redis.
 */
export type Role = 'caller' | 'callee';

/** What a transport can and cannot do, so that a case that cannot apply says why in code. */
export interface TransportCapabilities {
  /**
   * A message over `maxMessageBytes` closes the connection with 1009 at the
   * frame level (`ws`'s `maxPayload`); otherwise the core answers it with a
   * `message-too-large` error and the connection stays.
   */
  readonly frameSizeClose: boolean;
  /**
   * A client can send a binary frame (the hub answers it `binary-not-supported`).
   * The HTTP fallback cannot: a POST body is a JSON array of strings, so there is
   * no binary frame to send, and none to refuse.
   */
  readonly binaryFrames: boolean;
  /** Hub nodes a test hub has (2: callers on one, callees on the other, through Redis). */
  readonly nodes: number;
  /** How the `ws` adapter reads frames, for the ws factories: its own fast reader, or `ws`'s parser alone. */
  readonly frameReader?: 'fast' | 'ws';
}

/** A client as the hub suites drive it: the API of test/helpers/test-client.ts, whatever the transport. */
export interface MatrixClient {
  /** Frames received and not yet taken by `next()`. */
  readonly inbox: Frame[];
  /** Resolves with the close code and reason the client saw. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly isOpen: boolean;
  /** Sends an object as JSON, or a string as it is, in one text frame. */
  send(message: object | string): void;
  /** Sends one binary frame. */
  sendBinary(bytes: Uint8Array): void;
  /** The next frame (matching `match`, if given), already received or yet to come. */
  next(match?: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  nextOf(type: string, timeoutMs?: number): Promise<Frame>;
  /** Sends a login and waits for its reply. */
  login(name: string, extra?: object): Promise<Frame>;
  /** Sends a request and waits for the next frame. */
  request(message: object | string, timeoutMs?: number): Promise<Frame>;
  /** A clean close; the hub hears `code` (1005 when none is given). */
  close(code?: number): void;
  /** An abrupt close, without a closing handshake (the hub hears 1006). */
  abort(): void;
  /** Stops reading: what the hub sends piles up in the transport's queue. */
  pauseReading(): void;
}

export interface ConnectOptions {
  /** HTTP headers of the upgrade request (the `authenticate` hook sees them). */
  headers?: Record<string, string>;
}

/** One hub, or one cluster of hubs, started by a factory for one test. */
export interface TestHub {
  /** Every hub node (one, or two for the cluster). */
  readonly hubs: readonly SignallingHub[];
  /** The node clients of `role` connect to. */
  hub(role?: Role): SignallingHub;
  /** Connects a client for `role` (default `caller`), open and ready to send. */
  connect(role?: Role, options?: ConnectOptions): Promise<MatrixClient>;
  /** Listens to `event` on every node. */
  on<K extends keyof HubEvents>(event: K, listener: HubEvents[K]): void;
  off<K extends keyof HubEvents>(event: K, listener: HubEvents[K]): void;
  /** The next `event` from any node. */
  once<K extends keyof HubEvents>(event: K): Promise<Parameters<HubEvents[K]>[0]>;
  /** The peer holding `name` on any node. */
  getPeer(name: string): Peer | undefined;
  /** The logged-in peers of every node. */
  peers(): Peer[];
  /** Logged-in peers on every node. */
  readonly size: number;
  /** `hub(role).stats()`, wherever that hub runs (the Bun row's is in a child process). */
  stats(role?: Role): Promise<HubStats>;
  /** The server-side transports the hub(s) were given by `open()`, in order (for checking the factory itself). */
  readonly transports: readonly Transport[];
  /**
   * Resolves once the name registry is consistent everywhere: a release that
   * one node sent (asynchronously, through Redis) has arrived. Immediate on one node.
   */
  settled(): Promise<void>;
  /** Drops every client it connected and closes the hub(s). */
  close(): Promise<void>;
}

/**
 * How a hub suite reaches a transport. A new transport (the planned HTTP
 * fallback) joins the matrix by adding one of these to `transports`.
 */
export interface TestTransportFactory {
  /** Shown in the test names. */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /** Once per test file, before the first `start()` (e.g. a Redis server). */
  setup?(): Promise<void>;
  /** Once per test file, after the last hub closed. */
  teardown?(): Promise<void>;
  /** Starts a hub (or cluster) with `options` on every node. */
  start(options?: HubOptions): Promise<TestHub>;
}
