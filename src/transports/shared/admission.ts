import type { AdapterPort } from '../../core/adapter-port.js';
import { HookError } from '../../core/errors.js';
import type { UpgradeRequest } from '../../core/transport.js';

/**
 * Who may open a connection, as `attach()`'s `origins` and `verifyUpgrade`
 * say, over any request shaped as an {@link UpgradeRequest} (Node's
 * `IncomingMessage`; a Bun adapter converts its `Request`).
 */
export interface AdmissionPolicy<R extends UpgradeRequest> {
  /** Exact `Origin` values (a request without one passes), or a function that returns `true` to let a request in. */
  readonly origins: readonly string[] | ((origin: string | undefined, request: R) => boolean) | undefined;
  /** Resolves `true` to let a request in. */
  readonly verifyUpgrade: ((request: R) => boolean | Promise<boolean>) | undefined;
}

/**
 * The answer to a request, as an HTTP status: 200 admitted, 401 refused by
 * `verifyUpgrade`, 403 refused by `origins`, 500 a hook threw (reported on
 * the hub's `error` event), 503 not accepting (closing, draining).
 */
export type Verdict = 200 | 401 | 403 | 500 | 503;

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
  verifyUpgrade: AdmissionPolicy<R>['verifyUpgrade'],
  request: R,
  accepting: () => boolean,
  decide: (verdict: Verdict) => void,
  wait?: AdmissionWait,
): void {
  if (verifyUpgrade === undefined) return decide(200);
  wait?.begin();
  Promise.resolve()
    .then(() => verifyUpgrade(request))
    .then(
      (ok) => {
        if (wait !== undefined && !wait.end()) return;
        if (ok !== true) return decide(401);
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
 * `origins`, then `verifyUpgrade`. `decide` is called once (synchronously
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
  const refused = originVerdict(port, policy.origins, request);
  if (refused !== undefined) return decide(refused);
  verify(port, policy.verifyUpgrade, request, accepting, decide, wait);
}
