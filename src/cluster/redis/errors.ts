import { SignallingHubError } from '../../common/errors.js';

/**
 * Stable codes of the Redis backplane's errors (the core's
 * `SignallingHubErrorCode` lists the core's own). Match on `error.code` or
 * on the class.
 */
export type RedisErrorCode =
  /** Redis is not connected: the command was not sent. */
  | 'SH_ERR_REDIS_OFFLINE'
  /** Redis did not answer a command in time; it may still carry it out. */
  | 'SH_ERR_REDIS_TIMEOUT'
  /** Too many commands or bytes are already in flight to Redis: the command was not sent. */
  | 'SH_ERR_REDIS_BUSY';

/** Redis is not connected: the command was not sent (`SH_ERR_REDIS_OFFLINE`). */
export class RedisOfflineError extends SignallingHubError<'SH_ERR_REDIS_OFFLINE'> {
  constructor() {
    super('SH_ERR_REDIS_OFFLINE', 'Redis is not connected');
  }
}

/** Redis did not answer a command in time; it may still carry it out (`SH_ERR_REDIS_TIMEOUT`). */
export class RedisTimeoutError extends SignallingHubError<'SH_ERR_REDIS_TIMEOUT'> {
  constructor(command: string, timeout: number) {
    super('SH_ERR_REDIS_TIMEOUT', `Redis did not answer ${command} within ${timeout} ms`);
  }
}

/**
 * Too many commands or bytes are already waiting for Redis to answer
 * (`maxInFlightCommands`, `maxInFlightBytes`): the command was not sent
 * (`SH_ERR_REDIS_BUSY`).
 */
export class RedisBusyError extends SignallingHubError<'SH_ERR_REDIS_BUSY'> {
  constructor(
    /** Commands waiting for an answer when this one was refused. */
    readonly inFlightCommands: number,
    /** Bytes of those commands. */
    readonly inFlightBytes: number,
  ) {
    super(
      'SH_ERR_REDIS_BUSY',
      `Redis has not answered ${inFlightCommands} commands (${inFlightBytes} bytes) yet: further commands are refused until it does`,
    );
  }
}
