import { SignallingHubError } from '../../core/errors.js';

/** Redis is not connected: the command was not sent (`SH_ERR_REDIS_OFFLINE`). */
export class RedisOfflineError extends SignallingHubError {
  constructor() {
    super('SH_ERR_REDIS_OFFLINE', 'Redis is not connected');
  }
}

/** Redis did not answer a command in time; it may still carry it out (`SH_ERR_REDIS_TIMEOUT`). */
export class RedisTimeoutError extends SignallingHubError {
  constructor(command: string, timeout: number) {
    super('SH_ERR_REDIS_TIMEOUT', `Redis did not answer ${command} within ${timeout} ms`);
  }
}

/**
 * Too many commands or bytes are already waiting for Redis to answer
 * (`maxInFlightCommands`, `maxInFlightBytes`): the command was not sent
 * (`SH_ERR_REDIS_BUSY`).
 */
export class RedisBusyError extends SignallingHubError {
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
