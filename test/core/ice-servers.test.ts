import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type HubOptions, InvalidOptionError, SignallingHub, type Transport } from '../../src/index.js';
import { until } from '../helpers/events.js';

const SECRET = 'north-wind-7f3a';

class RecordingTransport implements Transport {
  readonly frames: Array<Record<string, unknown>> = [];
  send(message: string | Uint8Array): void {
    this.frames.push(
      JSON.parse(typeof message === 'string' ? message : new TextDecoder().decode(message)) as Record<string, unknown>,
    );
  }
  close(): void {}
}

const hubs: SignallingHub[] = [];
function login(options: HubOptions, name: string) {
  const hub = new SignallingHub(options);
  hubs.push(hub);
  const transport = new RecordingTransport();
  hub.open(transport).receive(JSON.stringify({ type: 'login', name }));
  return { hub, transport };
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

type Server = { urls: string[]; username: string; credential: string };

describe('TURN credentials issued by the hub', () => {
  it('puts short-lived TURN REST credentials in the login reply, signed with the first secret', async () => {
    const { transport } = login({ turn: { secret: [SECRET, 'old-secret'], urls: ['turn:127.0.0.1:3478'], ttl: 600 } }, 'alice');
    await until(() => transport.frames.length === 1, 'the login reply');
    const reply = transport.frames[0]!;
    expect(reply).toMatchObject({ type: 'login', success: true, name: 'alice' });
    const [server] = reply.iceServers as Server[];
    expect(server!.urls).toEqual(['turn:127.0.0.1:3478']);
    const [expiry, user] = server!.username.split(':');
    expect(user).toBe('alice');
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(595);
    expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(601);
    expect(server!.credential).toBe(createHmac('sha1', SECRET).update(server!.username).digest('base64'));
  });

  it('pushes fresh credentials at about 80% of the ttl, for as long as the peer is connected', async () => {
    const started = Date.now();
    const { transport } = login({ turn: { secret: SECRET, urls: ['turns:turn.example.com:5349'], ttl: 2 } }, 'bob');
    await until(() => transport.frames.length === 2, 'the first refresh', 4000);
    // 80% of 2 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1600);
    expect(transport.frames[1]).toMatchObject({ type: 'ice-servers' });
    const first = (transport.frames[0]!.iceServers as Server[])[0]!;
    const fresh = (transport.frames[1]!.iceServers as Server[])[0]!;
    expect(Number(fresh.username.split(':')[0])).toBeGreaterThan(Number(first.username.split(':')[0]));
    expect(fresh.credential).toBe(createHmac('sha1', SECRET).update(fresh.username).digest('base64'));
    await until(() => transport.frames.length === 3, 'the second refresh', 4000);
  });

  it('never shows the secret: not in the options, the stats, events or option errors', () => {
    const { hub } = login({ turn: { secret: SECRET, urls: ['turn:127.0.0.1:3478'] } }, 'carol');
    for (const text of [
      inspect(hub.options, { depth: 10, showHidden: true }),
      JSON.stringify(hub.options),
      JSON.stringify(hub.stats()),
    ]) {
      expect(text).not.toContain(SECRET);
    }
    for (const turn of [
      { secret: SECRET, urls: 'turn:x' },
      { secret: SECRET, urls: [] },
      { secret: [SECRET, ''], urls: ['turn:x'] },
      { secret: SECRET, urls: ['http://x'] },
      { secret: SECRET, urls: ['turn:x'], ttl: 1 },
      { secret: SECRET, urls: ['turn:x'], sekret: SECRET },
    ]) {
      let error: unknown;
      try {
        new SignallingHub({ turn } as unknown as HubOptions);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).not.toContain(SECRET);
    }
  });

  it('refuses turn and iceServers together', () => {
    expect(() => new SignallingHub({ turn: { secret: SECRET, urls: ['turn:x'] }, iceServers: () => [] })).toThrow(/exclusive/);
  });
});

describe('the iceServers hook', () => {
  it('hands the hook the peer and puts its servers in the login reply', async () => {
    const seen: string[] = [];
    const { transport } = login(
      {
        authenticate: () => ({ plan: 'pro' }),
        iceServers: (peer) => {
          seen.push(`${peer.name}:${JSON.stringify(peer.data)}`);
          return [{ urls: 'stun:stun.example.com:3478' }];
        },
      },
      'dave',
    );
    await until(() => transport.frames.length === 1, 'the login reply');
    expect(transport.frames[0]).toMatchObject({ success: true, iceServers: [{ urls: 'stun:stun.example.com:3478' }] });
    expect(seen).toEqual(['dave:{"plan":"pro"}']);
  });

  it('logs in without iceServers and reports a HookError when the hook fails', async () => {
    const errors: Error[] = [];
    const { hub, transport } = login({ iceServers: () => Promise.reject(new Error('provider down')) }, 'erin');
    hub.on('error', (error) => errors.push(error));
    await until(() => transport.frames.length === 1, 'the login reply');
    expect(transport.frames[0]).toMatchObject({ success: true });
    expect(transport.frames[0]).not.toHaveProperty('iceServers');
    expect(errors).toEqual([expect.objectContaining({ code: 'SH_ERR_HOOK_FAILED', hook: 'iceServers' })]);
  });

  it('refreshes every iceServersRefreshInterval ms', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let calls = 0;
    const { transport } = login(
      { iceServers: () => [{ urls: `stun:s${++calls}.example.com` }], iceServersRefreshInterval: 1000 },
      'frank',
    );
    await vi.advanceTimersByTimeAsync(2_500);
    expect(transport.frames.map((frame) => frame.type)).toEqual(['login', 'ice-servers', 'ice-servers']);
    expect(transport.frames[2]).toMatchObject({ iceServers: [{ urls: 'stun:s3.example.com' }] });
  });
});
