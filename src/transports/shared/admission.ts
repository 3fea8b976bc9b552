import type { AdapterPort } from '../../core/adapter-port.js';
import { recordAdmission } from '../../core/admitted.js';
import { HookError } from '../../core/errors.js';
import type { UpgradeRequest } from '../../core/transport.js';
import type { AddressCaps } from './address-caps.js';
import { type ProxyCheck, clientAddress } from './client-address.js';

/**
 * Who may open a connection, as `attach()`'s `origins` and `verifyUpgrade`
 * say, over any request shaped as an {@link UpgradeRequest} (Node's
 * `IncomingMessage`; a Bun adapter converts its `Request`).
 */
export interface AdmissionPolicy<R extends UpgradeRequest> {
  /** Exact `Origin` values (a request without one passes), or a function that returns `true` to let a request in. */
  readonly origins: readonly string[] | ((origin: string | undefined, request: R) => boolean) | undefined;
  /**
   * Resolves `true` to let a request in, or an object (e.g. the user found
   * from a cookie) to let it in and hand that object to `authenticate` as `upgrade`.
   */
  readonly verifyUpgrade: ((request: R) => unknown) | undefined;
  /** Which hops in front of the server may say who the client is (`X-Forwarded-For`). */
  readonly trustProxy?: ProxyCheck | undefined;
  /** Per-address caps on new connections. */
  readonly caps?: AddressCaps | undefined;
}

/**
 * The answer to a request, as an HTTP status: 200 admitted, 401 refused by
 * `verifyUpgrade`, 403 refused by `origins`, 429 over a per-address cap,
 * 500 a hook threw (reported on the hub's `error` event), 503 not accepting
 * (closing, draining).
 */
export type Verdict = 200 | 401 | 403 | 429 | 500 | 503;

/**
 * The per-address caps: 429 when the client's address (behind trusted
 * proxies, the one they forwarded) has too many connections open or opened
 * too many just now; `undefined` when the request may go on.
 */
export function capVerdict<R extends UpgradeRequest>(port: AdapterPort, policy: AdmissionPolicy<R>, request: R): 429 | undefined {
  const caps = policy.caps;
  if (caps === undefined) return undefined;
  const address = clientAddress(request, policy.trustProxy);
  if (address === undefined) return undefined;
  return caps.refuses(address, port.connectionsFrom?.(address) ?? 0) ? 429 : undefined;
}

/** What an admission waits on while `verifyUpgrade` runs. */
export interface AdmissionWait {
  /** `verifyUpgrade` is about to run asynchronously (e.g. keep an error listener on the socket). */
  begin(): void;
  /** It settled: whether the request is still there to be answered. */
  end(): boolean;
}

/** The `origins` check alone: `undefined` when the request may go on, else 403, or 500 when the check threw. */
export function originVerdict<R extends UpgradeRequest>(
  port: AdapterPort,
  origins: AdmissionPolicy<R>['origins'],
  request: R,
): 403 | 500 | undefined {
  if (origins === undefined) return undefined;
  const origin = request.headers.origin;
  // Node joins repeated headers; a list here is not an origin a browser sends.
  if (origin !== undefined && typeof origin !== 'string') return 403;
  const text = origin;
  try {
    if (typeof origins === 'function') return origins(text, request) === true ? undefined : 403;
  } catch (error) {
    port.reportError(new HookError('origins', error));
    return 500;
  }
  return text === undefined || origins.includes(text) ? undefined : 403;
}

/**
 * Runs `verifyUpgrade` (when there is one) and then checks again that new
 * connections are accepted, since the hub may have started draining while
 * the host decided. Calls `decide` once, synchronously when there is no
 * hook; not at all when `wait.end()` says the request is gone.
 */
export function verify<R extends UpgradeRequest>(
  port: AdapterPort,
  policy: AdmissionPolicy<R>,
  request: R,
  accepting: () => boolean,
  decide: (verdict: Verdict) => void,
  wait?: AdmissionWait,
): void {
  const { verifyUpgrade, trustProxy } = policy;
  if (verifyUpgrade === undefined) {
    // The hub counts and shows the address the trusted proxies forwarded.
    if (trustProxy !== undefined) recordAdmission(request, { upgrade: undefined, address: clientAddress(request, trustProxy) });
    return decide(200);
  }
  wait?.begin();
  Promise.resolve()
    .then(() => verifyUpgrade(request))
    .then(
      (ok) => {
        if (wait !== undefined && !wait.end()) return;
        // `true`, or what the hook found (a user object) for authenticate; anything else refuses.
        if (ok !== true && (typeof ok !== 'object' || ok === null)) return decide(401);
        recordAdmission(request, { upgrade: ok, address: clientAddress(request, trustProxy) });
        decide(accepting() ? 200 : 503);
      },
      (error: unknown) => {
        wait?.end();
        port.reportError(new HookError('verifyUpgrade', error));
        decide(500);
      },
    );
}

/**
 * The whole admission of a new connection: 503 when not accepting, then
 * `origins`, the per-address caps, then `verifyUpgrade`. `decide` is called once (synchronously
 * when no hook is asynchronous).
 */
export function admit<R extends UpgradeRequest>(
  port: AdapterPort,
  policy: AdmissionPolicy<R>,
  request: R,
  accepting: () => boolean,
  decide: (verdict: Verdict) => void,
  wait?: AdmissionWait,
): void {
  if (!accepting()) return decide(503);
  const refused = originVerdict(port, policy.origins, request) ?? capVerdict(port, policy, request);
  if (refused !== undefined) return decide(refused);
  verify(port, policy, request, accepting, decide, wait);
}
