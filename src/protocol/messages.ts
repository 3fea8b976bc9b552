import type { ErrorCode, LoginFailure } from './error-codes.js';

/** Message types that are relayed from one peer to another by name. */
export type RelayType = 'offer' | 'answer' | 'candidate' | 'leave';

/** `{"type":"login","name":N}`: register `name` for this connection. */
export interface LoginRequest {
  type: 'login';
  name: string;
  /** Resume token from an earlier successful login: takes the name over from a stale connection. */
  token?: string;
  /** This client can resume: a drop keeps its name, calls and relays for the hub's `resumeGrace`. */
  resume?: boolean;
}

/** A relay as the sender writes it: `name` is the target. */
export interface RelayRequest {
  type: RelayType;
  /** The target peer's name. */
  name: string;
  offer?: unknown;
  answer?: unknown;
  candidate?: unknown;
}

/** Any message a client may send. */
export type ClientMessage = LoginRequest | RelayRequest;

/** Reply to a successful login. */
export interface LoginSuccess {
  type: 'login';
  success: true;
  /** The name now held. */
  name: string;
  /** Secret that lets a reconnecting client take this name over from a connection that has not been noticed dead yet. */
  token: string;
  /**
   * Present when the login carried a `token`: `true` when it took the name
   * back from a stale, dropped or (in a cluster) remote connection, `false`
   * when the name was free and this is a fresh login.
   */
  resumed?: boolean;
  /**
   * STUN/TURN servers for this peer's `RTCPeerConnection`s, when the hub is
   * configured with `turn` or an `iceServers` hook. TURN credentials expire;
   * fresh ones arrive in {@link IceServersUpdate} before they do.
   */
  iceServers?: IceServer[];
}

/** One entry of `RTCConfiguration.iceServers`. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** `{"type":"ice-servers","iceServers":[…]}`: fresh STUN/TURN servers, pushed before the previous credentials expire. */
export interface IceServersUpdate {
  type: 'ice-servers';
  iceServers: IceServer[];
}

/** Reply to a refused login. The connection may try again. */
export interface LoginRefused {
  type: 'login';
  success: false;
  reason: `${LoginFailure}`;
  message: string;
}

/** A relay as the target receives it: `name` is the sender, taken from the hub's registry. */
export interface RelayedMessage {
  type: RelayType;
  /** The sender's name. */
  name: string;
  offer?: unknown;
  answer?: unknown;
  candidate?: unknown;
}

/** Error reply; the connection stays usable. */
export interface ErrorMessage {
  type: 'error';
  code: `${ErrorCode}`;
  message: string;
  /** The `type` of the request that failed, when it had one. */
  request?: string;
  /** The target name the request named, when there was one. */
  target?: string;
}

/** Any message the hub sends to a client. */
export type ServerMessage = LoginSuccess | LoginRefused | RelayedMessage | ErrorMessage | IceServersUpdate;
