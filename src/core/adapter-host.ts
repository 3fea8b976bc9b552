import type { SignallingHubError } from './errors.js';

/**
 * What a transport adapter of this package may do with a hub beyond its
 * public API: report failures and warnings on the hub's events. Kept out of
 * the public surface (a host cannot reach it); the hub registers itself here
 * when it is built.
 */
export interface AdapterHost {
  /** Emits `error` on the hub. */
  reportError(error: unknown): void;
  /** Emits `warning` on the hub (a degraded mode worth one log line, not a failure). */
  warn(warning: SignallingHubError): void;
}

const hosts = new WeakMap<object, AdapterHost>();

/** @internal Called by the hub's constructor. */
export function registerAdapterHost(hub: object, host: AdapterHost): void {
  hosts.set(hub, host);
}

/** The adapter host of `hub`, or `undefined` when `hub` is not a hub of this copy of the library. */
export function adapterHost(hub: object): AdapterHost | undefined {
  return hosts.get(hub);
}
