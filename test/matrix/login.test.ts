import { afterEach, expect, it } from 'vitest';
import type { HubOptions, SignallingHubError } from '../../src/index.js';
import type { Role, TestHub } from './factory.js';
import { describeMatrix } from './matrix.js';

describeMatrix('login', (factory) => {
  let hub: TestHub;
  const start = async (options?: HubOptions) => (hub = await factory.start(options));
  afterEach(async () => {
    await hub.close();
  });

  it('refuses a taken name with name-taken and lets the connection try again', async () => {
    await start();
    const a = await hub.connect('caller');
    const b = await hub.connect('callee');
    await a.login('alice');
    expect(await b.login('alice')).toMatchObject({ type: 'login', success: false, reason: 'name-taken' });
    expect(await b.login('bob')).toMatchObject({ success: true, name: 'bob' });
    // No impersonation: the relay carries the registered sender name.
    b.send({ type: 'offer', offer: {}, name: 'alice' });
    expect(await a.nextOf('offer')).toMatchObject({ name: 'bob' });
  });

  it.each([
    ['empty', ''],
    ['a number', 42],
    ['null', null],
    ['an object', { first: 'a' }],
    ['missing', undefined],
    ['a control character', 'bad\u0000name'],
    ['a newline', 'two\nlines'],
    ['too long', 'x'.repeat(129)],
    // JSON.stringify escapes it as \ud800, so it reaches the hub on every transport.
    ['a lone surrogate', 'bad\ud800name'],
  ])('refuses a name that is %s with invalid-name', async (_label, name) => {
    await start();
    const client = await hub.connect();
    expect(await client.login(name as string)).toMatchObject({ success: false, reason: 'invalid-name' });
    expect(await client.login('fine')).toMatchObject({ success: true });
  });

  it('treats __proto__, constructor and unicode names as ordinary names', async () => {
    await start();
    const names = ['__proto__', 'constructor', 'hasOwnProperty', 'Zoë 🦊', 'x'.repeat(128)];
    const roles: Role[] = ['caller', 'callee', 'caller', 'callee', 'caller'];
    const clients = await Promise.all(roles.map((role) => hub.connect(role)));
    for (const [i, name] of names.entries()) expect(await clients[i]!.login(name)).toMatchObject({ success: true, name });
    clients[0]!.send({ type: 'offer', offer: 'o', name: 'constructor' });
    expect(await clients[1]!.nextOf('offer')).toEqual({ type: 'offer', offer: 'o', name: '__proto__' });
    expect(
      hub
        .peers()
        .map((peer) => peer.name)
        .sort(),
    ).toEqual([...names].sort());
    const again = await hub.connect('callee');
    expect(await again.login('__proto__')).toMatchObject({ success: false, reason: 'name-taken' });
  });

  it('holds at most one name per connection', async () => {
    await start();
    const client = await hub.connect();
    const first = await client.login('one');
    expect(await client.login('two')).toMatchObject({ success: false, reason: 'already-logged-in' });
    // Logging in again under the same name is idempotent.
    expect(await client.login('one')).toMatchObject({ success: true, token: first.token });
    expect(hub.getPeer('two')).toBeUndefined();
  });

  it('gives exactly one success to racing logins of one name', async () => {
    await start({ authenticate: async () => new Promise((resolve) => setTimeout(() => resolve(true), 5)) });
    const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => hub.connect(i % 2 === 0 ? 'caller' : 'callee')));
    const replies = await Promise.all(clients.map((client) => client.login('contested')));
    expect(replies.filter((reply) => reply.success === true)).toHaveLength(1);
    expect(replies.filter((reply) => reply.reason === 'name-taken')).toHaveLength(9);
  });

  it('frees the name when its connection closes', async () => {
    await start();
    const left = hub.once('peer-left');
    const a = await hub.connect('caller');
    await a.login('transient');
    a.close();
    expect(await left).toMatchObject({ name: 'transient', reason: 'closed' });
    await hub.settled();
    const b = await hub.connect('callee');
    expect(await b.login('transient')).toMatchObject({ success: true });
  });

  it('frees the name when its connection drops without a close handshake', async () => {
    await start();
    const left = hub.once('peer-left');
    const a = await hub.connect('caller');
    await a.login('dropped');
    a.abort();
    expect(await left).toMatchObject({ name: 'dropped', reason: 'closed', code: 1006 });
    await hub.settled();
    const b = await hub.connect('callee');
    expect(await b.login('dropped')).toMatchObject({ success: true });
  });

  it('lets a reconnecting client take its name over with the resume token', async () => {
    await start();
    // The take-over happens on the node that holds the name: a reconnecting caller comes back as a caller.
    const stale = await hub.connect('caller');
    const { token } = await stale.login('roamer');
    const thief = await hub.connect('callee');
    expect(await thief.login('roamer', { token: 'guessed' })).toMatchObject({ success: false, reason: 'name-taken' });
    const fresh = await hub.connect('caller');
    const reply = await fresh.login('roamer', { token });
    expect(reply).toMatchObject({ success: true, name: 'roamer' });
    expect(reply.token).not.toBe(token);
    expect((await stale.closed).code).toBe(4409);
    expect(hub.getPeer('roamer')).toBeDefined();
    // The old token is spent.
    const again = await hub.connect('caller');
    expect(await again.login('roamer', { token })).toMatchObject({ success: false, reason: 'name-taken' });
  });

  it('sends relays to the new holder of a name, not to the connection it replaced or one that left', async () => {
    await start();
    const sender = await hub.connect('caller');
    await sender.login('sender');
    const first = await hub.connect('callee');
    const { token } = await first.login('target');
    // Repeated relays to one peer take a shortcut past the name lookup; it must follow the name.
    for (const n of [1, 2]) sender.send({ type: 'candidate', candidate: n, name: 'target' });
    expect(await first.nextOf('candidate')).toMatchObject({ candidate: 1 });
    expect(await first.nextOf('candidate')).toMatchObject({ candidate: 2 });
    const second = await hub.connect('callee');
    expect(await second.login('target', { token })).toMatchObject({ success: true });
    expect((await first.closed).code).toBe(4409);
    sender.send({ type: 'candidate', candidate: 3, name: 'target' });
    expect(await second.nextOf('candidate')).toMatchObject({ candidate: 3, name: 'sender' });
    const left = hub.once('peer-left');
    second.close();
    await left;
    await hub.settled();
    expect(hub.getPeer('target')).toBeUndefined();
    sender.send({ type: 'candidate', candidate: 4, name: 'target' });
    expect(await sender.nextOf('error')).toMatchObject({ code: 'peer-not-found', target: 'target' });
  });

  it('applies a custom name rule', async () => {
    await start({ validateName: (name) => /^[a-z]+$/.test(name) });
    const client = await hub.connect();
    expect(await client.login('Upper')).toMatchObject({ success: false, reason: 'invalid-name' });
    expect(await client.login('lower')).toMatchObject({ success: true });
  });

  it('closes a connection that never logs in with 4408', async () => {
    await start({ loginTimeout: 150 });
    const idle = await hub.connect('callee');
    const active = await hub.connect('caller');
    await active.login('in-time');
    expect((await idle.closed).code).toBe(4408);
    expect(hub.getPeer('in-time')).toBeDefined();
    expect(active.isOpen).toBe(true);
  });

  it('emits peer-joined with the peer and peer-left with name and reason', async () => {
    await start();
    const events: unknown[] = [];
    hub.on('peer-joined', (peer) => events.push(['joined', peer.name, typeof peer.id]));
    hub.on('peer-left', (event) => events.push(['left', event.name, event.reason, event.code]));
    const client = await hub.connect();
    await client.login('observed');
    const left = hub.once('peer-left');
    client.close(1000);
    await client.closed;
    await left;
    expect(events).toEqual([
      ['joined', 'observed', 'number'],
      ['left', 'observed', 'closed', 1000],
    ]);
  });
});

describeMatrix('authenticate', (factory) => {
  let hub: TestHub;
  afterEach(async () => {
    await hub.close();
  });

  it('sees the name, the login message and the upgrade request, and can refuse', async () => {
    const seen: unknown[] = [];
    hub = await factory.start({
      authenticate: ({ name, message, request }) => {
        seen.push([name, message.secret, request?.headers['x-app']]);
        return message.secret === 'open sesame';
      },
    });
    const client = await hub.connect('caller', { headers: { 'x-app': 'demo' } });
    expect(await client.login('guest', { secret: 'wrong' })).toMatchObject({ success: false, reason: 'unauthorized' });
    expect(hub.getPeer('guest')).toBeUndefined();
    expect(await client.login('guest', { secret: 'open sesame' })).toMatchObject({ success: true });
    expect(seen).toEqual([
      ['guest', 'wrong', 'demo'],
      ['guest', 'open sesame', 'demo'],
    ]);
  });

  it('attaches an object it returns to the peer as data', async () => {
    hub = await factory.start({ authenticate: ({ name }) => Promise.resolve({ role: name === 'admin' ? 'admin' : 'user' }) });
    const client = await hub.connect('callee');
    await client.login('admin');
    expect(hub.getPeer('admin')?.data).toEqual({ role: 'admin' });
  });

  it('refuses the login when the hook throws, and reports the error', async () => {
    hub = await factory.start({
      authenticate: () => Promise.reject(new Error('auth service down')),
    });
    const errors: SignallingHubError[] = [];
    hub.on('error', (error) => errors.push(error));
    const client = await hub.connect();
    expect(await client.login('someone')).toMatchObject({ success: false, reason: 'unauthorized' });
    // Reported as a HookError whose cause is what the hook threw.
    expect(errors.map((error) => [error.code, (error.cause as Error).message])).toEqual([
      ['SH_ERR_HOOK_FAILED', 'auth service down'],
    ]);
  });

  it('keeps messages sent during a slow login in order', async () => {
    hub = await factory.start({ authenticate: () => new Promise((resolve) => setTimeout(() => resolve(true), 100)) });
    const target = await hub.connect('callee');
    await target.login('target');
    const eager = await hub.connect('caller');
    eager.send({ type: 'login', name: 'eager' });
    for (let i = 0; i < 5; i++) eager.send({ type: 'candidate', candidate: i, name: 'target' });
    expect(await eager.nextOf('login')).toMatchObject({ success: true });
    for (let i = 0; i < 5; i++) expect(await target.nextOf('candidate')).toMatchObject({ candidate: i, name: 'eager' });
  });
});
