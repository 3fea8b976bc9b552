/** Base class of every error the library throws. */
export class SignallingHubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An option has a value the hub cannot work with. Thrown by constructors. */
export class InvalidOptionError extends SignallingHubError {
  constructor(
    /** The option's name, e.g. `rateLimit.burst`. */
    readonly option: string,
    message: string,
  ) {
    super(`Invalid option ${option}: ${message}`);
  }
}

/** The hub was used after `close()`. */
export class HubClosedError extends SignallingHubError {
  constructor() {
    super('The signalling hub is closed');
  }
}

/** `error` as an Error, for `error` events: hooks and clients may throw anything. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
