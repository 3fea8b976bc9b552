export { CloseCode } from './close-codes.js';
export { limitCloseReason, MAX_CLOSE_REASON_BYTES } from './close-reason.js';
export { ErrorCode, LoginFailure } from './error-codes.js';
export type {
  ClientMessage,
  ErrorMessage,
  IceServer,
  IceServersUpdate,
  LoginRefused,
  LoginRequest,
  LoginSuccess,
  RelayedMessage,
  RelayRequest,
  RelayType,
  ServerMessage,
} from './messages.js';
export { JoinRefusal, type RoomRequestType } from './rooms.js';
