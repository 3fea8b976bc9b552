// The line protocol between the Node tests (bun-hub.ts) and the Bun child (bun-hub-child.ts).
import type { Peer } from '../../src/index.js';

export type HookName = 'authenticate' | 'iceServers' | 'verifyUpgrade' | 'authorizeJoin';

/** The hub's room calls the child forwards. */
export type RoomMethod = 'members' | 'rooms' | 'join' | 'part' | 'broadcast';

/** Other hub calls the child forwards, their results awaited. */
export type HubMethod = 'deliver' | 'disconnectAnywhere';

export interface SerializedError {
  name: string;
  message: string;
  code?: string | undefined;
  cause?: SerializedError | undefined;
}

/**
 * Hub options as they cross to the child: plain values as they are; async hooks
 * as a flag (the child calls back the test's closure); a synchronous hook as its
 * source (it must not use variables from around it).
 */
export type WireHubOptions = Record<string, unknown> & {
  hooks: { authenticate?: boolean; iceServers?: boolean; authorizeJoin?: boolean; validateName?: string };
  /** A named hook set (test/helpers/hook-sets.ts) built in the child from this state: its hooks run there. */
  named?: { set: string; state: object };
};

/** `createBunHandler()` options as they cross to the child. */
export interface WireHandlerOptions {
  path?: string;
  heartbeatInterval?: number;
  maxPayload?: number;
  closeTimeout?: number;
  origins?: string[];
  /** `verifyUpgrade` calls back the test's closure. */
  verifyUpgrade?: boolean;
}

export type ChildCommand =
  | { op: 'start'; options: WireHubOptions; handler: WireHandlerOptions }
  | { op: 'sync' | 'stats' | 'connections' | 'close-handler' | 'close'; hubId: number }
  | { op: 'send'; hubId: number; name: string; message: object }
  | { op: 'disconnect'; hubId: number; name: string; reason?: string }
  | { op: 'drain'; hubId: number; timeout?: number }
  /** One of the hub's room calls (`members`, `rooms`, `join`, `part`, `broadcast`), its result awaited. */
  | { op: 'room'; hubId: number; method: RoomMethod; args: unknown[] }
  | { op: 'call'; hubId: number; method: HubMethod; args: unknown[] }
  /** Merges `patch` into the hub's named hook set's state; answers the state. */
  | { op: 'named-hooks'; hubId: number; patch: object }
  | { op: 'reply'; callId: number; result?: unknown; error?: SerializedError };

export type ChildMessage =
  | { kind: 'ready' }
  | { kind: 'result'; id: number; result?: unknown; error?: SerializedError }
  | { kind: 'event'; hubId: number; event: string; payload: unknown; peers: Peer[] }
  | { kind: 'transport'; hubId: number; transport: string }
  | { kind: 'hook'; hubId: number; callId: number; hook: HookName; arg: unknown };
