export { CloseCode } from './close-codes.js';
export { ErrorCode, LoginFailure } from './error-codes.js';
export type {
  ClientMessage,
  ErrorMessage,
  LoginRefused,
  LoginRequest,
  LoginSuccess,
  RelayedMessage,
  RelayRequest,
  RelayType,
  ServerMessage,
} from './messages.js';
