import { InvalidOptionError } from '../common/errors.js';
import { type Check, boolean, describeValue, func, integer, resolveOptions } from '../common/option-check.js';
import type {
  PeerConnectionConfiguration,
  PeerConnectionConstructor,
  PeerConnectionLike,
  PlatformPeerConnection,
} from './webrtc.js';

/** Options of {@link PeerConnectionManager}. Every one is optional; unknown ones are refused. */
export interface PeerConnectionManagerOptions<C extends PeerConnectionLike = PlatformPeerConnection> {
  /**
   * The `RTCPeerConnection` class, e.g. `RTCPeerConnection` from `@roamhq/wrtc` in Node.
   * @default globalThis.RTCPeerConnection
   */
  RTCPeerConnection?: PeerConnectionConstructor<C> | undefined;
  /**
   * Configuration of every connection (ICE servers, `iceTransportPolicy`…).
   * The hub's ICE servers (`client.iceServers`, when the hub is configured
   * with `turn` or `iceServers`) are added after `configuration.iceServers`:
   * a new connection gets the ones current when it is created, and live
   * connections get fresh ones through `setConfiguration()`.
   * @default {}
   */
  configuration?: PeerConnectionConfiguration;
  /**
   * ICE candidates held per peer while they arrive before its remote
   * description (a whole number ≥ 0). Past it, later ones are dropped: the
   * first ones are kept, as an ICE agent sends its most direct (host)
   * candidates first, and a flood cannot push them out.
   * @default 256
   */
  maxEarlyCandidates?: number;
  /**
   * Restart ICE through the hub (a new offer with `iceRestart`, glare
   * resolved as for any offer) when the path between the peers broke: after
   * the client logs in again following a reconnection, for every connection
   * whose ICE state is `disconnected` or `failed` (a network change usually
   * drops both the signalling and the path); and once when a connection
   * reaches `failed`, instead of closing it (it is closed if it fails again
   * before it connects). `false`: no automatic restart, and `failed` closes.
   * `restartIce()` works either way.
   * @default true
   */
  iceRestart?: boolean;
  /**
   * Most members (this peer included) of a room a mesh call (`joinRoom()`)
   * accepts, a whole number ≥ 2: every member sends its media to every other,
   * so past about 6–8 people uplinks and CPUs give out (use an SFU). Set the
   * hub's `maxRoomMembers` to match, so a newcomer is refused before anyone calls.
   * @default 8
   */
  maxMeshSize?: number;
}

/** {@link PeerConnectionManagerOptions} with every default filled in. */
export interface ResolvedPeerConnectionManagerOptions {
  readonly RTCPeerConnection: PeerConnectionConstructor<PeerConnectionLike> | undefined;
  readonly configuration: Readonly<PeerConnectionConfiguration>;
  readonly maxEarlyCandidates: number;
  readonly iceRestart: boolean;
  readonly maxMeshSize: number;
}

/**
 * The defaults of {@link PeerConnectionManagerOptions}, one object (each
 * option is documented there with its `@default`).
 */
export const peerConnectionManagerDefaults: ResolvedPeerConnectionManagerOptions = Object.freeze({
  RTCPeerConnection: undefined,
  configuration: Object.freeze({}),
  maxEarlyCandidates: 256,
  iceRestart: true,
  maxMeshSize: 8,
});

const peerConnectionManagerChecks: {
  readonly [K in keyof ResolvedPeerConnectionManagerOptions]-?: Check<ResolvedPeerConnectionManagerOptions[K]>;
} = {
  RTCPeerConnection: func(),
  configuration: (value, option) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidOptionError(option, 'an RTCConfiguration object', describeValue(value));
    }
    return value;
  },
  maxEarlyCandidates: integer(0),
  iceRestart: boolean,
  maxMeshSize: integer(2),
};

/** Fills in defaults; throws `InvalidOptionError` on an unknown option or a value that cannot work. */
export function resolvePeerConnectionManagerOptions(options: unknown): ResolvedPeerConnectionManagerOptions {
  return resolveOptions<ResolvedPeerConnectionManagerOptions>(
    'PeerConnectionManager',
    options,
    peerConnectionManagerDefaults,
    peerConnectionManagerChecks,
  );
}
