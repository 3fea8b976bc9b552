export { SignallingHub } from './core/hub.js';
export type { DeliveryResult } from './core/remote-disconnect.js';
export type {
  HubOptions,
  ResolvedHubOptions,
  AuthenticateContext,
  AuthenticateResult,
  DuplicateNamePolicy,
  RelayRequest,
  RateLimitOptions,
} from './core/options.js';
export type { TurnOptions, IceServersHook } from './core/ice-servers.js';
export type { HubEvents, ProtocolErrorEvent } from './core/events.js';
export type { Peer, PeerLeft, PeerDropped, PeerResumed, LeaveReason } from './core/peer.js';
export type { RoomJoined, RoomParted, RoomPartReason, AuthorizeJoinContext } from './core/rooms/room-events.js';
export type { Transport, TransportSession, ConnectionInfo, UpgradeRequest } from './core/transport.js';
export type { AdapterPort, NodeMessageHandler, SendToNodeOptions } from './core/adapter-port.js';
export { decorateAdapterPort } from './core/adapter-port.js';
export {
  SignallingHubError,
  InvalidOptionError,
  InvalidArgumentError,
  HubClosedError,
  HookError,
  BackplaneError,
  TransportError,
  LoginRefusedError,
} from './core/errors.js';
export type { SignallingHubErrorCode } from './error-codes.js';
export { hubDefaults } from './core/options.js';
export type { HubStats, RelayCounts } from './core/stats.js';
export type {
  Backplane,
  BackplaneHost,
  BackplaneState,
  BackplaneStatus,
  Envelope,
  ClaimResult,
  ForwardResult,
  NodeReply,
  RemotePeer,
  ResumeGrant,
  ResumeResult,
  RoomJoinResult,
  NamePage,
} from './core/backplane.js';
export { MemoryCluster } from './cluster/memory/memory-cluster.js';
export type { MemoryBackplane, MemoryBackplaneOptions } from './cluster/memory/memory-backplane.js';
export * from './protocol/index.js';
export { healthHandler, readinessCheck } from './ops/health.js';
export type { HealthSource, HealthHandlerOptions, ReadinessOptions, Readiness } from './ops/health.js';
