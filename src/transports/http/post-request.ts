import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpSession } from './http-session.js';
import { noContent, reply, unavailable } from './reply.js';
import { framesOf, readBody } from './request-body.js';

/** The bounds a POST of frames is held to. */
export interface PostLimits {
  readonly maxBodyBytes: number;
  readonly reorderWindow: number;
  /** Bytes held for one logged-in session. */
  readonly maxHeldBytes: number;
  /** Bytes held for a session not logged in: about one frame, as a WebSocket that has not logged in buffers. */
  readonly maxPendingHeldBytes: number;
}

/** The frames of a body checked before (kept as bytes while it waited for an earlier POST). */
export function checkedFrames(body: Buffer): readonly string[] {
  const frames = framesOf(body.toString());
  return Array.isArray(frames) ? frames : [];
}

/**
 * A POST of frames to `session` (`seq`: its place in the client's order;
 * none: a ping): its body is read within `maxBodyBytes`, checked (UTF-8, a
 * JSON array of strings, no lone surrogate) and handed to the session's uplink.
 */
export async function receivePost(
  session: HttpSession,
  seq: number | undefined,
  request: IncomingMessage,
  response: ServerResponse,
  limits: PostLimits,
): Promise<void> {
  const closed = () => reply(response, 410, 'session-closed', 'The session is closed', { ...session.closeInfo });
  if (!session.open) return closed();
  const { maxBodyBytes } = limits;
  const body = await readBody(request, maxBodyBytes);
  if (body === 'aborted') return;
  if (body === 'too-large') {
    session.closeByAdapter(1009, 'message too big');
    return reply(
      response,
      413,
      'body-too-large',
      `A request body may hold at most ${maxBodyBytes} bytes`,
      {},
      { connection: 'close' },
    );
  }
  if (!session.open) return closed();
  if (!isUtf8(body)) {
    session.closeByAdapter(1007, 'invalid UTF-8');
    return reply(response, 400, 'invalid-utf8', 'The body is not valid UTF-8');
  }
  const frames = framesOf(body.toString());
  if (frames === undefined) return reply(response, 400, 'bad-request', 'The body must be a JSON array of strings (the frames)');
  if (frames === 'lone-surrogate') {
    session.closeByAdapter(1007, 'invalid UTF-8');
    return reply(response, 400, 'invalid-utf8', 'A frame holds a lone surrogate: frames must be valid Unicode text');
  }
  if (seq === undefined) {
    if (frames.length > 0) return reply(response, 400, 'bad-request', 'Frames need a "seq" query parameter');
    // A ping: the client is there.
    return noContent(response, 204);
  }
  const maxHeld = session.pending ? limits.maxPendingHeldBytes : limits.maxHeldBytes;
  switch (session.uplink.post(seq, frames, body, limits.reorderWindow, maxHeld)) {
    case 'delivered':
    case 'duplicate':
      return noContent(response, 204);
    case 'held':
      return noContent(response, 202);
    case 'busy':
      return unavailable(response, 'Too many POSTs wait for earlier ones on this server: send this one again shortly', 1);
    case 'out-of-window':
      return reply(
        response,
        409,
        'out-of-window',
        `seq ${seq} is too far ahead of ${session.uplink.expectedSeq}: send the earlier ones first`,
      );
  }
}
