import { Agent, createServer, request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type HubOptions, InvalidOptionError, SignallingHub, type Transport } from '../../src/index.js';
import { type AttachOptions, attach, httpFallbackDefaults } from '../../src/ws.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { createRequest, RawHttpSession } from './raw-http.js';

/** One request over `agent` (a keep-alive agent with one socket: every request on one TCP connection). */
function send(
  agent: Agent,
  url: string,
  method = 'POST',
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, agent, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.once('error', reject);
    request.end(body);
  });
}

/** A session id and secret from a 201 answer. */
function created(text: string): { session: string; secret: string } {
  return JSON.parse(text) as { session: string; secret: string };
}

/** The HTTP fallback's bounds on sessions that have not logged in, on held POST bodies, and on closed sessions (#17 items 8–10). */
describe('the HTTP fallback: what a session costs before it logs in, and after it closed', () => {
  let served: HubServer | undefined;
  const agents: Agent[] = [];
  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.destroy();
    await served?.close();
    served = undefined;
  });

  async function serve(hubOptions?: HubOptions, attachOptions: AttachOptions = {}): Promise<string> {
    served = await startHubServer(hubOptions, { path: '/', closeTimeout: 100, ...attachOptions });
    return `http://127.0.0.1:${served.port}/`;
  }

  function oneConnection(): Agent {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    return agent;
  }

  it('has options for the new bounds, checked like the others, with frozen defaults', () => {
    expect(httpFallbackDefaults).toMatchObject({
      maxHeldBytes: 32 * 1024 * 1024,
      maxPendingSessionsPerConnection: 16,
      maxPendingSessionsPerAddress: 256,
    });
    expect(Object.isFrozen(httpFallbackDefaults)).toBe(true);
    for (const [option, value] of [
      ['maxHeldBytes', -1],
      ['maxPendingSessionsPerConnection', 0],
      ['maxPendingSessionsPerAddress', 1.5],
      ['maxPendingSessionsPerAddress', '8'],
    ] as const) {
      let thrown: unknown;
      try {
        attach(new SignallingHub(), createServer(), { httpFallback: { [option]: value } });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidOptionError);
      expect(thrown).toMatchObject({ option: `httpFallback.${option}` });
    }
  });

  it('10,000 bodiless POSTs over one keep-alive connection do not lock anyone else out (item 10)', async () => {
    // maxSessions small so that, unbounded, the flood fills it within the test.
    const base = await serve(undefined, { httpFallback: { maxSessions: 400 } });
    const flood = oneConnection();
    const url = `${base}?transport=http`;
    let first: { session: string; secret: string } | undefined;
    const statuses = new Map<number, number>();
    for (let i = 0; i < 10_000; i += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => send(flood, url)));
      for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      first ??= created(answers[0]!.text);
    }
    // Each one was answered; only the newest few of one connection stay.
    expect(statuses.get(201)).toBe(10_000);
    expect(served!.attachment.httpSessions).toBeLessThanOrEqual(httpFallbackDefaults.maxPendingSessionsPerConnection);
    // The oldest was evicted: forgotten, its requests answered 404.
    const evicted = await send(flood, `${url}&session=${first!.session}&poll=1`, 'GET', { 'x-signalling-secret': first!.secret });
    expect(evicted.status).toBe(404);
    // Another client, on its own connection, still gets a session and logs in.
    const other = await RawHttpSession.create(base);
    expect((await other.post([{ type: 'login', name: 'other' }], 1)).status).toBe(204);
    expect(await other.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true });
  }, 60_000);

  it('bounds sessions not logged in per address; a session that logged in stops counting (item 10)', async () => {
    const base = await serve(undefined, { httpFallback: { maxPendingSessionsPerAddress: 5 } });
    const url = `${base}?transport=http`;
    const loggedIn = await RawHttpSession.create(base);
    expect((await loggedIn.post([{ type: 'login', name: 'early' }], 1)).status).toBe(204);
    expect(await loggedIn.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true });
    const sessions: Array<{ session: string; secret: string }> = [];
    // Each on its own connection: the per-connection bound does not apply.
    for (let i = 0; i < 12; i++) sessions.push(created((await send(oneConnection(), url)).text));
    const alive = await Promise.all(
      sessions.map(async ({ session, secret }) => {
        const answer = await send(oneConnection(), `${url}&session=${session}`, 'POST', { 'x-signalling-secret': secret });
        return answer.status;
      }),
    );
    // The newest five stay (an empty POST is a ping: 204); the others were evicted (404).
    expect(alive).toEqual([...Array<number>(7).fill(404), ...Array<number>(5).fill(204)]);
    expect(served!.hub.getPeer('early')).toBeDefined();
    expect((await loggedIn.post([], undefined)).status).toBe(204);
  });

  it('learns that a session logged in from the hub, not from the reply text: a dialect may rewrite replies', async () => {
    const base = await serve(undefined, { httpFallback: { maxPendingSessionsPerAddress: 1 } });
    const hub = served!.hub;
    // A dialect between the hub and the transport, answering logins in its own words (as #21's adapters may).
    const open = hub.open.bind(hub);
    hub.open = (transport: Transport, info) =>
      open(
        {
          send: (message) => {
            const text = typeof message === 'string' ? message : new TextDecoder().decode(message);
            transport.send(text.startsWith('{"type":"login"') ? JSON.stringify({ ok: JSON.parse(text) as unknown }) : text);
          },
          close: (code, reason) => transport.close(code, reason),
          terminate: () => transport.terminate?.(),
          get bufferedAmount() {
            return transport.bufferedAmount;
          },
          joined: () => transport.joined?.(),
        },
        info,
      );
    const loggedIn = await RawHttpSession.create(base);
    expect((await loggedIn.post([{ type: 'login', name: 'dialect' }], 1)).status).toBe(204);
    expect(await loggedIn.pollFor((frame) => 'ok' in frame)).toMatchObject({ ok: { type: 'login', success: true } });
    // From the same address: were the first still counted as not logged in, this one would evict it.
    const next = await RawHttpSession.create(base);
    expect((await next.post([], undefined)).status).toBe(204);
    expect(served!.hub.getPeer('dialect')).toBeDefined();
    expect((await loggedIn.post([], undefined)).status).toBe(204);
  });

  it('forgets a closed session sessionTimeout after it closed, though its client keeps knocking (item 9)', async () => {
    const base = await serve({ loginTimeout: 200 }, { httpFallback: { maxSessions: 3, sessionTimeout: 600 } });
    const sessions = await Promise.all([0, 1, 2].map(() => RawHttpSession.create(base)));
    expect((await createRequest(base)).status).toBe(503);
    // Each is closed by the login timeout (4408); its client keeps POSTing, answered 410 while it is remembered.
    let knocking = true;
    const answers: number[] = [];
    const knocks = (async () => {
      while (knocking) {
        for (const session of sessions) answers.push((await session.post([], undefined)).status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      // Within loginTimeout + sessionTimeout + a sweep or two, the places are free again.
      const deadline = Date.now() + 5000;
      let status = 0;
      while (Date.now() < deadline) {
        const response = await createRequest(base);
        status = response.status;
        await response.body?.cancel();
        if (status === 201) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe(201);
    } finally {
      knocking = false;
      await knocks;
    }
    expect(answers).toContain(410);
    // Forgotten: its client is told there is no such session.
    expect((await sessions[0]!.post([], undefined)).status).toBe(404);
  });

  it('holds POSTs of a session not logged in within about one frame (item 8)', async () => {
    const maxPayload = 4096;
    const base = await serve(undefined, { maxPayload });
    const session = await RawHttpSession.create(base);
    const frame = (size: number) => JSON.stringify({ type: 'candidate', name: 'x', candidate: 'c'.repeat(size) });
    // Ahead of seq 1 (which never comes): held while the held bytes fit one frame.
    expect((await session.post([frame(1000)], 2)).status).toBe(202);
    expect((await session.post([frame(1000)], 3)).status).toBe(202);
    expect((await session.post([frame(maxPayload)], 4)).status).toBe(409);
    // Logged in, the session may hold up to maxBodyBytes × reorderWindow.
    const loggedIn = await RawHttpSession.create(base);
    expect((await loggedIn.post([{ type: 'login', name: 'held' }], 1)).status).toBe(204);
    expect(await loggedIn.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true });
    for (let seq = 3; seq < 8; seq++) expect((await loggedIn.post([frame(maxPayload - 100)], seq)).status).toBe(202);
  });

  it('bounds the held POST bodies of all sessions of a path together, and frees them when a session closes (item 8)', async () => {
    const maxHeldBytes = 64 * 1024;
    const base = await serve(undefined, { httpFallback: { maxHeldBytes } });
    const body = (size: number) => [JSON.stringify({ type: 'candidate', name: 'x', candidate: 'c'.repeat(size) })];
    const peers: RawHttpSession[] = [];
    for (let i = 0; i < 3; i++) {
      const peer = await RawHttpSession.create(base);
      expect((await peer.post([{ type: 'login', name: `held${i}` }], 1)).status).toBe(204);
      expect(await peer.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true });
      peers.push(peer);
    }
    // Two sessions hold 30 KB each; the third cannot hold more than what is left.
    expect((await peers[0]!.post(body(30_000), 3)).status).toBe(202);
    expect((await peers[1]!.post(body(30_000), 3)).status).toBe(202);
    const busy = await peers[2]!.post(body(30_000), 3);
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    // Sent in order, a POST is never held: it is handed on at once.
    expect((await peers[2]!.post(body(30_000), 2)).status).toBe(204);
    // A session that closes lets go of what it held.
    expect((await peers[0]!.delete()).status).toBe(204);
    expect((await peers[2]!.post(body(30_000), 4)).status).toBe(202);
    // One that fills its gap hands on what it held, and frees it too.
    expect((await peers[1]!.post(body(10), 2)).status).toBe(204);
    expect((await peers[2]!.post(body(30_000), 5)).status).toBe(202);
  });
});
