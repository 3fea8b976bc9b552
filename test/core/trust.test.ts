import { inspect } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HubOptions,
  InvalidArgumentError,
  InvalidOptionError,
  type Peer,
  SignallingHub,
  SignallingHubError,
  type Transport,
  type TransportSession,
  hubDefaults,
  limitCloseReason,
} from '../../src/index.js';
import { until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

/** A full garbage collection, so that memory figures count what is retained, not garbage not yet collected. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** A transport that records what the hub does with it; `queued` plays the part of a socket's unsent bytes. */
class RecordingTransport implements Transport {
  readonly frames: Array<Record<string, unknown>> = [];
  closedWith: [number, string] | undefined;
  terminated = false;
  queued = 0;
  closeThrows = false;
  get bufferedAmount(): number {
    return this.queued;
  }
  send(message: string | Uint8Array): void {
    const text = typeof message === 'string' ? message : new TextDecoder().decode(message);
    this.frames.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code: number, reason: string): void {
    if (this.closeThrows) throw new RangeError('The message must not be greater than 123 bytes');
    this.closedWith = [code, reason];
  }
  terminate(): void {
    this.terminated = true;
  }
  last(): Record<string, unknown> | undefined {
    return this.frames.at(-1);
  }
}

const hubs: SignallingHub[] = [];
function newHub(options?: HubOptions): SignallingHub {
  const hub = new SignallingHub(options);
  hub.on('error', () => {});
  hubs.push(hub);
  return hub;
}

function connect(hub: SignallingHub, name?: string) {
  const transport = new RecordingTransport();
  const session: TransportSession = hub.open(transport);
  const send = (message: object) => session.receive(JSON.stringify(message));
  if (name !== undefined) send({ type: 'login', name });
  return { transport, session, send };
}

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

describe('close reasons (trust #2)', () => {
  it('cuts every reason to 123 UTF-8 bytes on a character boundary', () => {
    expect(limitCloseReason('short')).toBe('short');
    const ascii = limitCloseReason('x'.repeat(500));
    expect(Buffer.byteLength(ascii)).toBe(123);
    // 2-byte characters: 61 fit (122 bytes), the 62nd would be cut in half.
    const accented = limitCloseReason('é'.repeat(100));
    expect(accented).toBe('é'.repeat(61));
    // 4-byte characters: 30 fit (120 bytes).
    const emoji = limitCloseReason('😀'.repeat(40));
    expect(emoji).toBe('😀'.repeat(30));
    expect(limitCloseReason('a\uD800b')).toBe('a\uFFFDb');
  });

  it('hub.disconnect with a long reason closes with the reason cut, and the peer is gone', () => {
    const hub = newHub();
    const a = connect(hub, 'a');
    expect(hub.disconnect('a', '€'.repeat(200))).toBe(true);
    expect(a.transport.closedWith?.[0]).toBe(4403);
    expect(a.transport.closedWith?.[1]).toBe('€'.repeat(41));
    expect(hub.getPeer('a')).toBeUndefined();
  });

  it('terminates the connection and reports a TransportError when the transport close throws', () => {
    const hub = newHub();
    const errors: SignallingHubError[] = [];
    hub.on('error', (error) => errors.push(error));
    const a = connect(hub, 'a');
    a.transport.closeThrows = true;
    expect(hub.disconnect('a', 'bye')).toBe(true);
    expect(a.transport.terminated).toBe(true);
    expect(errors.map((error) => error.code)).toEqual(['SH_ERR_TRANSPORT']);
    expect(hub.getPeer('a')).toBeUndefined();
    expect(hub.stats().connections).toBe(0);
  });
});

describe('Transport.joined', () => {
  it('is told once per login, before the reply; if it throws, the login stands and a TransportError is reported', () => {
    const hub = newHub();
    const errors: SignallingHubError[] = [];
    hub.on('error', (error) => errors.push(error));
    const seen: string[] = [];
    const session = hub.open({
      send: (message) => seen.push(typeof message === 'string' ? message : new TextDecoder().decode(message)),
      close: () => {},
      joined: () => seen.push('joined'),
    });
    session.receive(JSON.stringify({ type: 'login', name: 'taken' }));
    const other = hub.open({ send: () => {}, close: () => {}, joined: () => seen.push('other joined') });
    other.receive(JSON.stringify({ type: 'login', name: 'taken' }));
    expect(seen.map((frame) => (frame.startsWith('{') ? (JSON.parse(frame) as { success: boolean }).success : frame))).toEqual([
      'joined',
      true,
    ]);
    const failing = hub.open({
      send: () => {},
      close: () => {},
      joined: () => {
        throw new Error('bookkeeping failed');
      },
    });
    failing.receive(JSON.stringify({ type: 'login', name: 'second' }));
    expect(hub.getPeer('second')).toBeDefined();
    expect(errors.map((error) => error.code)).toEqual(['SH_ERR_TRANSPORT']);
  });
});

describe('the peer the host sees (trust #5)', () => {
  it('is a frozen view with no token, transport or limiter, on every API that hands out peers', () => {
    const hub = newHub();
    const joined: Peer[] = [];
    const left: Peer[] = [];
    hub.on('peer-joined', (peer) => joined.push(peer));
    hub.on('peer-left', (event) => left.push(event.peer));
    const a = connect(hub, 'alice');
    const token = a.transport.frames[0]!.token as string;
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    const views = [joined[0]!, hub.getPeer('alice')!, [...hub.peers()][0]!];
    for (const peer of views) {
      expect(Object.keys(peer).sort()).toEqual(['data', 'id', 'joinedAt', 'name', 'node', 'remoteAddress']);
      expect(peer).toMatchObject({ name: 'alice', node: undefined });
      expect(Object.isFrozen(peer)).toBe(true);
      expect(inspect(peer, { depth: 5, showHidden: true })).not.toContain(token);
      expect(JSON.stringify(peer)).not.toContain(token);
      expect('send' in peer || 'close' in peer || 'transport' in peer).toBe(false);
    }
    a.session.closed(1000);
    expect(left[0]).toBe(joined[0]);
    expect(inspect(left[0], { depth: 5, showHidden: true })).not.toContain(token);
  });
});

describe('messages held during a login (trust #7, #8)', () => {
  it('copies held bytes: a transport that reuses its buffer after receive() does not corrupt them', async () => {
    const admits: Array<() => void> = [];
    const hub = newHub({ authenticate: () => new Promise<boolean>((resolve) => admits.push(() => resolve(true))) });
    const bob = connect(hub);
    bob.send({ type: 'login', name: 'bob' });
    await until(() => admits.length === 1, 'authenticate called');
    const alice = connect(hub);
    // Alice logs in too (both wait for authenticate): her offer is held.
    alice.send({ type: 'login', name: 'alice' });
    // A Buffer, as ws and net hand out: its slice() is a view, not a copy.
    const buffer = Buffer.alloc(256);
    const offer = Buffer.from(JSON.stringify({ type: 'offer', offer: { sdp: 'v=0 original' }, name: 'bob' }));
    buffer.set(offer);
    alice.session.receive(buffer.subarray(0, offer.length));
    // The transport reuses its read buffer for the next chunk.
    buffer.fill(0x20);
    for (const admit of admits) admit();
    await until(() => bob.transport.frames.some((frame) => frame.type === 'offer'), 'the offer reaches bob');
    expect(bob.transport.frames.find((frame) => frame.type === 'offer')).toEqual({
      type: 'offer',
      offer: { sdp: 'v=0 original' },
      name: 'alice',
    });
  });

  it('bounds held messages in bytes: past maxPendingBytes they are answered login-pending', async () => {
    let admit!: () => void;
    const hub = newHub({
      maxPendingBytes: 10_000,
      authenticate: () => new Promise<boolean>((resolve) => (admit = () => resolve(true))),
    });
    const a = connect(hub);
    a.send({ type: 'login', name: 'a' });
    await until(() => admit !== undefined, 'authenticate called');
    const big = 'x'.repeat(3000);
    for (let i = 0; i < 5; i++) a.send({ type: 'candidate', candidate: big, name: 'a' });
    // Three of ~3 KB fit in 10 000 bytes; the fourth and fifth do not.
    expect(a.transport.frames.map((frame) => frame.code)).toEqual(['login-pending', 'login-pending']);
    admit();
    await until(() => a.transport.frames.filter((frame) => frame.type === 'candidate').length === 3, 'held candidates run');
  });

  describe('over ws, many slow logins', () => {
    let server: HubServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it(
      'keeps the memory of 40 unauthenticated connections flooding during a slow authenticate bounded',
      { timeout: 90_000 },
      async () => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        server = await startHubServer({ rateLimit: false, authenticate: () => gate.then(() => false) });
        const clients = await Promise.all(Array.from({ length: 40 }, () => TestClient.connect(server!.url)));
        collectGarbage();
        const before = process.memoryUsage();
        const offer = JSON.stringify({ type: 'offer', offer: { sdp: 'x'.repeat(60_000) }, name: 'nobody' });
        for (const [index, client] of clients.entries()) {
          client.send({ type: 'login', name: `c${index}` });
          for (let i = 0; i < 24; i++) client.send(offer);
        }
        // Every client gets its login-pending answers once its held bytes pass maxPendingBytes (128 KiB: two offers).
        await Promise.all(clients.map((client) => client.nextOf('error', 30_000)));
        await until(
          () => clients.every((client) => client.inbox.filter((frame) => frame.code === 'login-pending').length >= 21),
          'login-pending for all but the held offers',
          30_000,
        );
        collectGarbage();
        const after = process.memoryUsage();
        const grown = after.arrayBuffers + after.heapUsed - (before.arrayBuffers + before.heapUsed);
        // 40 × 128 KiB held at most, plus socket buffers in flight; held by count alone (and as slices of
        // 64 KiB read buffers) it was ~60 MB.
        expect(grown).toBeLessThan(25 * 1024 * 1024);
        release();
        for (const client of clients) client.close();
      },
    );
  });
});

describe('a congested reader (trust #6)', () => {
  it('drops relays to it with peer-congested to the sender, and closes it 4507 only once its queue stayed full', async () => {
    const hub = newHub({ maxBufferedBytes: 4096, slowConsumerTimeout: 200 });
    const sender = connect(hub, 'sender');
    const reader = connect(hub, 'reader');
    reader.transport.queued = 5000;
    sender.send({ type: 'candidate', candidate: 1, name: 'reader' });
    expect(sender.transport.last()).toMatchObject({
      type: 'error',
      code: 'peer-congested',
      target: 'reader',
      request: 'candidate',
    });
    expect(reader.transport.closedWith).toBeUndefined();
    // It reads again: relays flow.
    reader.transport.queued = 0;
    sender.send({ type: 'candidate', candidate: 2, name: 'reader' });
    expect(reader.transport.last()).toEqual({ type: 'candidate', candidate: 2, name: 'sender' });
    // It stops reading for good: dropped until slowConsumerTimeout has passed, then closed.
    reader.transport.queued = 5000;
    sender.send({ type: 'candidate', candidate: 3, name: 'reader' });
    expect(reader.transport.closedWith).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 250));
    sender.send({ type: 'candidate', candidate: 4, name: 'reader' });
    expect(reader.transport.closedWith?.[0]).toBe(4507);
    expect(hub.getPeer('reader')).toBeUndefined();
    expect(hub.getPeer('sender')).toBeDefined();
  });
});

describe('options (trust #10)', () => {
  it('exports its defaults as one frozen object', () => {
    expect(hubDefaults).toMatchObject({ maxMessageBytes: 65536, loginTimeout: 30000, slowConsumerTimeout: 10000 });
    expect(Object.isFrozen(hubDefaults)).toBe(true);
    expect(new SignallingHub().options).toEqual(hubDefaults);
  });

  it.each([
    [{ loginTimout: 5 }, 'loginTimout', 'did you mean loginTimeout?'],
    [{ ratelimit: false }, 'ratelimit', 'did you mean rateLimit?'],
    [{ rateLimit: true }, 'rateLimit', 'false or { messagesPerSecond, burst }'],
    [{ rateLimit: {} }, 'rateLimit.messagesPerSecond', 'a rate limit object gives both fields'],
    [{ rateLimit: -1 }, 'rateLimit', 'got -1'],
    [{ rateLimit: { messagesPerSecond: 10, burst: 1.5 } }, 'rateLimit.burst', 'a whole number'],
    [{ rateLimit: { messagesPerSecond: 10, burst: 5, brust: 1 } }, 'rateLimit.brust', 'did you mean rateLimit.burst?'],
    [{ maxMessageBytes: 1.5 }, 'maxMessageBytes', 'got 1.5'],
    [{ maxMessageBytes: '64k' }, 'maxMessageBytes', 'got "64k"'],
    [{ loginTimeout: -1 }, 'loginTimeout', 'a whole number from 0'],
    [{ loginTimeout: Infinity }, 'loginTimeout', 'got Infinity'],
    [{ maxBufferedBytes: NaN }, 'maxBufferedBytes', 'got NaN'],
    [{ authenticate: 'yes' }, 'authenticate', 'a function'],
    [{ backplane: {} }, 'backplane', 'a Backplane'],
  ])('refuses %j naming %s', (options, option, text) => {
    let error: unknown;
    try {
      new SignallingHub(options as HubOptions);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'SH_ERR_INVALID_OPTION', option });
    expect((error as Error).message).toContain(text);
  });

  it.each([null, 'options', 42, [], () => {}])('refuses %s as the options object', (options) => {
    expect(() => new SignallingHub(options as HubOptions)).toThrow(InvalidOptionError);
  });

  it('refuses a backplane without a node id', () => {
    const backplane = {
      start: () => Promise.resolve(),
      claim: () => Promise.resolve('claimed'),
      release() {},
      forward: () => Promise.resolve({}),
      close: () => Promise.resolve(),
    };
    expect(() => new SignallingHub({ backplane } as unknown as HubOptions)).toThrow(/backplane\.nodeId/);
  });
});

describe('careless JavaScript callers', () => {
  it('answers wrong arguments with InvalidArgumentError, not a raw TypeError', async () => {
    const hub = newHub();
    expect(() => hub.disconnect(42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => hub.disconnect('a', { reason: 'x' } as unknown as string)).toThrow(InvalidArgumentError);
    await expect(hub.send(undefined as unknown as string, {})).rejects.toThrow(InvalidArgumentError);
    await expect(hub.send('a', 'text' as unknown as object)).rejects.toThrow(InvalidArgumentError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(hub.send('a', cyclic)).rejects.toMatchObject({ code: 'SH_ERR_INVALID_ARGUMENT', argument: 'message' });
    await expect(hub.send('a', { big: 1n })).rejects.toThrow(InvalidArgumentError);
    expect(() => hub.open({} as Transport)).toThrow(InvalidArgumentError);
    expect(hub.getPeer(7 as unknown as string)).toBeUndefined();
  });

  it('reports a throwing validateName or authenticate as a HookError and refuses the login', async () => {
    const errors: SignallingHubError[] = [];
    const hub = newHub({
      validateName: (name) => {
        if (name === 'boom') throw new Error('rule crashed');
        return true;
      },
      authenticate: ({ name }) => {
        if (name === 'auth') throw new Error('auth service down');
        return true;
      },
    });
    hub.on('error', (error) => errors.push(error));
    const a = connect(hub, 'boom');
    expect(a.transport.last()).toMatchObject({ type: 'login', success: false, reason: 'invalid-name' });
    const b = connect(hub, 'auth');
    await until(() => b.transport.frames.length === 1, 'the refusal');
    expect(b.transport.last()).toMatchObject({ type: 'login', success: false, reason: 'unauthorized' });
    expect(errors.map((error) => [error.code, error.message])).toEqual([
      ['SH_ERR_HOOK_FAILED', 'The validateName hook failed: rule crashed'],
      ['SH_ERR_HOOK_FAILED', 'The authenticate hook failed: auth service down'],
    ]);
    expect(errors.every((error) => error instanceof SignallingHubError)).toBe(true);
  });
});

describe('names (trust #13)', () => {
  it('refuses names with lone surrogates and keeps names that differ only there apart', () => {
    const hub = newHub();
    for (const name of ['v\uD800', 'v\uDC00', '\uDBFFx']) {
      const a = connect(hub, name);
      expect(a.transport.last()).toMatchObject({ type: 'login', success: false, reason: 'invalid-name' });
    }
    const replacement = connect(hub, 'v\uFFFD');
    expect(replacement.transport.last()).toMatchObject({ success: true });
    const pair = connect(hub, 'v\uD83D\uDE00');
    expect(pair.transport.last()).toMatchObject({ success: true });
    // A relay to the lone-surrogate spelling does not reach the U+FFFD holder.
    pair.session.receive('{"type":"candidate","candidate":1,"name":"v\\ud800"}');
    expect(pair.transport.last()).toMatchObject({ type: 'error', code: 'peer-not-found' });
    expect(replacement.transport.frames).toHaveLength(1);
  });
});

describe('hub.stats()', () => {
  it('counts logins, refusals, relays, errors, closes and bytes, and never names a peer', () => {
    const hub = newHub();
    const a = connect(hub, 'a');
    const b = connect(hub, 'b');
    connect(hub, 'a');
    a.send({ type: 'offer', offer: { sdp: 's' }, name: 'b' });
    a.session.receive(new TextEncoder().encode('{"type":"candidate","candidate":{"c":1},"name":"b"}'));
    a.send({ type: 'candidate', candidate: 1, name: 'nobody' });
    a.send({ type: 'nonsense' });
    b.session.closed(1001);
    const stats = hub.stats();
    expect(stats).toMatchObject({
      peers: 1,
      connections: 2,
      logins: 2,
      loginRefusals: { 'name-taken': 1 },
      relays: { offer: { local: 1, crossNode: 0 }, candidate: { local: 1, crossNode: 0 } },
      protocolErrors: { 'name-taken': 1, 'peer-not-found': 1, 'unknown-type': 1 },
      closes: { '1001': 1 },
      queuedBytes: 0,
      backplane: { state: 'none', roundTripMs: undefined },
    });
    expect(stats.bytesIn).toBeGreaterThan(100);
    expect(stats.bytesOut).toBeGreaterThan(100);
    expect(JSON.stringify(stats)).not.toMatch(/"a"|"b"/);
  });
});
