import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdapterPort } from '../../core/adapter-port.js';
import { STATUS_ADMITTED } from '../../protocol/http-wire.js';
import { type AdmissionPolicy, admit } from '../shared/admission.js';
import { noContent, reply, unavailable } from './reply.js';

/** The error body of each refusal, by status (the ones a session's opening POST gives). */
const REFUSALS: Readonly<Record<number, readonly [error: string, message: string]>> = {
  401: ['unauthorized', 'The server refused this request'],
  403: ['origin-not-allowed', 'This origin may not connect'],
  429: ['too-many-connections', 'Too many connections from this address: try again later'],
  500: ['internal-error', 'The server could not decide on this request'],
};

/**
 * Answers a handshake probe (`GET <path>?…&transport=http&probe=1`, see
 * `PROBE_ON`): the admission a WebSocket upgrade gets — the same function —
 * and `204` when it would pass, else the refusal's status and error body.
 * Nothing is opened: a browser's client asks this after a failed upgrade,
 * whose status it cannot see.
 */
export function answerProbe(
  port: AdapterPort,
  policy: AdmissionPolicy<IncomingMessage>,
  accepting: () => boolean,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  admit(port, policy, request, accepting, (verdict) => {
    if (verdict === 200) return noContent(response, STATUS_ADMITTED);
    if (verdict === 503)
      return unavailable(response, 'The server is not taking connections: try again (another node may take it)');
    const [error, message] = REFUSALS[verdict] ?? REFUSALS[500]!;
    reply(response, verdict, error, message);
  });
}
