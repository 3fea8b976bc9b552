import type { UpgradeRequest } from './transport.js';

/**
 * What a transport's admission decided about a request, kept beside the
 * request (not on it) until the hub opens its connection: the value
 * `verifyUpgrade` resolved (for `authenticate`'s `upgrade`) and the client's
 * address as the trusted proxies tell it. A WeakMap, so an adapter passes
 * nothing new through `open()` and a request that never becomes a connection
 * leaves nothing behind.
 */
export interface Admitted {
  /** What `verifyUpgrade` resolved (`true` when it resolved just that). */
  readonly upgrade: unknown;
  /** The client's address (behind trusted proxies: the one they forwarded). */
  readonly address: string | undefined;
}

const admitted = new WeakMap<object, Admitted>();

/** Records what admission decided about `request`. */
export function recordAdmission(request: object, decision: Admitted): void {
  admitted.set(request, decision);
}

/** What admission decided about `request`, if it ran. */
export function admissionOf(request: UpgradeRequest | undefined): Admitted | undefined {
  return request === undefined ? undefined : admitted.get(request);
}

/** What `verifyUpgrade` resolved for `request`. */
export function upgradeOf(request: UpgradeRequest | undefined): unknown {
  return admissionOf(request)?.upgrade;
}
