import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HubOptions, LoginRefusedError, type SignallingHubError } from '../../src/index.js';
import type { TestHub, TestTransportFactory } from '../matrix/factory.js';
import { transports } from '../matrix/transports.js';
import { NamedHooks } from '../helpers/hook-sets.js';

function describeRows(title: string, body: (factory: TestTransportFactory) => void): void {
  describe.each(transports)(`${title} — $name`, (factory) => {
    beforeAll(async () => {
      await factory.setup?.();
    });
    afterAll(async () => {
      await factory.teardown?.();
    });
    body(factory);
  });
}

/** Over the transports of the matrix (and across two nodes through Redis): who a peer is, what it may reach. */
describeRows('identity', (factory) => {
  let hub: TestHub;
  const start = async (options?: HubOptions) => (hub = await factory.start(options));
  afterEach(async () => {
    await hub.close();
  });

  /** The host names the peer from what the login carried (a stand-in for a session: the same on every transport). */
  const byUser = (extra?: HubOptions): HubOptions => ({
    authenticate: ({ message }) =>
      message.user === undefined ? true : { name: `user-${message.user as number}`, data: { user: message.user } },
    ...extra,
  });

  it("logs a peer in under the host's name, whatever it asked for, with the host's data", async () => {
    await start(byUser());
    const client = await hub.connect('caller');
    expect(await client.login('anything', { user: 7 })).toMatchObject({ success: true, name: 'user-7' });
    expect(hub.getPeer('user-7')?.data).toEqual({ user: 7 });
    expect(hub.getPeer('anything')).toBeUndefined();
    // Others reach it by the host's name, and it sends under it.
    const other = await hub.connect('callee');
    await other.login('other');
    other.send({ type: 'offer', offer: 'o', name: 'user-7' });
    expect(await client.nextOf('offer')).toEqual({ type: 'offer', offer: 'o', name: 'other' });
    // A login without a name: the host names it.
    const unnamed = await hub.connect('callee');
    expect(await unnamed.request({ type: 'login', user: 8 })).toMatchObject({ success: true, name: 'user-8' });
  });

  it('refuses a second tab of the same user by default (name-taken)', async () => {
    await start(byUser());
    const first = await hub.connect('caller');
    const second = await hub.connect('callee');
    expect(await first.login('x', { user: 1 })).toMatchObject({ success: true, name: 'user-1' });
    expect(await second.login('x', { user: 1 })).toMatchObject({ success: false, reason: 'name-taken' });
  });

  it("gives each tab of a user its own name with duplicateNames: 'suffix'", async () => {
    await start(byUser({ duplicateNames: 'suffix' }));
    const tabs = [await hub.connect('caller'), await hub.connect('callee'), await hub.connect('caller')];
    const names: unknown[] = [];
    for (const tab of tabs) names.push((await tab.login('x', { user: 1 })).name);
    expect(names).toEqual(['user-1', 'user-1#2', 'user-1#3']);
    tabs[2]!.send({ type: 'offer', offer: 'o', name: 'user-1#2' });
    expect(await tabs[1]!.nextOf('offer')).toEqual({ type: 'offer', offer: 'o', name: 'user-1#3' });
  });

  it('caps the tabs of one user with maxConnectionsPerUser', async () => {
    await start(byUser({ duplicateNames: 'suffix', maxConnectionsPerUser: 2 }));
    const tabs = [await hub.connect('caller'), await hub.connect('callee'), await hub.connect('caller')];
    expect(await tabs[0]!.login('x', { user: 1 })).toMatchObject({ success: true, name: 'user-1' });
    expect(await tabs[1]!.login('x', { user: 1 })).toMatchObject({ success: true, name: 'user-1#2' });
    expect(await tabs[2]!.login('x', { user: 1 })).toEqual({
      type: 'login',
      success: false,
      reason: 'name-taken',
      message: 'Too many connections for user-1: at most 2',
    });
    // One goes: its place is free again.
    const left = hub.once('peer-left');
    tabs[0]!.close(1000);
    await left;
    await hub.settled();
    expect(await tabs[2]!.login('x', { user: 1 })).toMatchObject({ success: true, name: 'user-1' });
  });

  it("closes the first tab with 4409 under duplicateNames: 'replace', and its partners hear leave", async () => {
    await start(byUser({ duplicateNames: 'replace' }));
    const partner = await hub.connect('callee');
    await partner.login('partner');
    const first = await hub.connect('caller');
    await first.login('x', { user: 1 });
    first.send({ type: 'offer', offer: 'o', name: 'partner' });
    await partner.nextOf('offer');
    const left = hub.once('peer-left');
    // On the cluster row the second tab is on the other node: the first is closed there.
    const second = await hub.connect('callee');
    expect(await second.login('x', { user: 1 })).toMatchObject({ success: true, name: 'user-1' });
    expect((await first.closed).code).toBe(4409);
    expect(await left).toMatchObject({ name: 'user-1', reason: 'replaced' });
    expect(await partner.nextOf('leave')).toEqual({ type: 'leave', name: 'user-1' });
    second.send({ type: 'answer', answer: 'a', name: 'partner' });
    expect(await partner.nextOf('answer')).toEqual({ type: 'answer', answer: 'a', name: 'user-1' });
  });

  it("refuses with the host's own message (LoginRefusedError), bounded to 256 UTF-8 bytes", async () => {
    const errors: SignallingHubError[] = [];
    await start({
      authenticate: ({ message }) => {
        if (message.why === 'long') throw new LoginRefusedError('é'.repeat(200));
        if (message.why === 'crash') throw new Error('database down');
        throw new LoginRefusedError('Your session expired: sign in again');
      },
    });
    hub.on('error', (error) => errors.push(error));
    const client = await hub.connect();
    expect(await client.login('a')).toEqual({
      type: 'login',
      success: false,
      reason: 'unauthorized',
      message: 'Your session expired: sign in again',
    });
    expect(errors).toEqual([]);
    const long = await client.login('a', { why: 'long' });
    expect(long.message).toBe('é'.repeat(128));
    // Any other throw: the generic message, and the host hears of it.
    expect(await client.login('a', { why: 'crash' })).toMatchObject({
      reason: 'unauthorized',
      message: 'Login refused by the server',
    });
    expect(errors.map((error) => error.code)).toEqual(['SH_ERR_HOOK_FAILED']);
  });

  it('refuses a login whose host-given name breaks the name rules, and reports it', async () => {
    await start({ authenticate: () => ({ name: 'bad\nname' }) });
    const reported = hub.once('error');
    const client = await hub.connect();
    expect(await client.login('fine')).toMatchObject({ success: false, reason: 'unauthorized' });
    expect((await reported).code).toBe('SH_ERR_HOOK_FAILED');
  });

  it('assigns a fresh unguessable name to a login without one with assignNames, and refuses it without', async () => {
    await start({ assignNames: true });
    const a = await hub.connect('caller');
    const b = await hub.connect('callee');
    const named = await a.request({ type: 'login' });
    const other = await b.request({ type: 'login' });
    expect(named).toMatchObject({ success: true });
    expect(named.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(other.name).not.toBe(named.name);
    // They reach each other by those names.
    b.send({ type: 'offer', offer: 'o', name: named.name });
    expect(await a.nextOf('offer')).toEqual({ type: 'offer', offer: 'o', name: other.name });
    // A login with a name still gets that name.
    const c = await hub.connect('caller');
    expect(await c.login('carol')).toMatchObject({ success: true, name: 'carol' });
    await hub.close();
    await start();
    const classic = await hub.connect();
    expect(await classic.request({ type: 'login' })).toMatchObject({ success: false, reason: 'invalid-name' });
  });

  it('refuses relays authorizeRelay refuses with forbidden naming the target, on both relay paths', async () => {
    // A synchronous hook: on the Bun row it runs in the child, built from the same set (test/helpers/hook-sets.ts).
    const rules = new NamedHooks('relay-rules', { blocked: [], seen: [] });
    await start(rules.options);
    const alice = await hub.connect('caller');
    const bob = await hub.connect('callee');
    await alice.login('alice');
    await bob.login('bob');
    alice.send({ type: 'offer', offer: 'o', name: 'bob' });
    expect(await bob.nextOf('offer')).toMatchObject({ name: 'alice' });
    // Now refused, also on the byte path's shortcut to the last target.
    await rules.update({ blocked: ['alice>bob'] });
    alice.send({ type: 'candidate', candidate: 'c', name: 'bob' });
    expect(await alice.nextOf('error')).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'Not allowed to send candidate to bob',
      request: 'candidate',
      target: 'bob',
    });
    // A relay that is allowed still goes (a sentinel through the same path: the refused one never came).
    bob.send({ type: 'answer', answer: 'a', name: 'alice' });
    expect(await alice.nextOf('answer')).toMatchObject({ name: 'bob' });
    await rules.update({ blocked: [] });
    alice.send({ type: 'candidate', candidate: 'c2', name: 'bob' });
    expect(await bob.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'c2', name: 'alice' });
    expect(bob.inbox.filter((frame) => frame.type === 'candidate')).toEqual([]);
    expect((await rules.state()).seen).toContainEqual({ from: 'alice', to: 'bob', type: 'offer' });
  });

  it("makes a refused relay look like an absent name with relayRefusal: 'not-found'", async () => {
    await start({ ...new NamedHooks('hide-names', { hidden: ['secret'] }).options, relayRefusal: 'not-found' });
    const alice = await hub.connect('caller');
    const secret = await hub.connect('callee');
    await alice.login('alice');
    await secret.login('secret');
    alice.send({ type: 'offer', offer: 'o', name: 'secret' });
    const refused = await alice.nextOf('error');
    alice.send({ type: 'offer', offer: 'o', name: 'nobody' });
    const absent = await alice.nextOf('error');
    expect(refused).toEqual({ ...absent, message: String(absent.message).replace('nobody', 'secret'), target: 'secret' });
    expect(refused.code).toBe('peer-not-found');
  });

  it('disconnects a peer on any node, and tells whether it was found', async () => {
    await start();
    const partner = await hub.connect('caller');
    const target = await hub.connect('callee');
    await partner.login('partner');
    await target.login('target');
    partner.send({ type: 'offer', offer: 'o', name: 'target' });
    await target.nextOf('offer');
    const here = hub.hub('caller');
    const local = here.getPeer('target') !== undefined;
    expect(await here.disconnectAnywhere('target', 'bye')).toBe(true);
    expect(await target.closed).toMatchObject({ code: 4403 });
    expect(await partner.nextOf('leave')).toEqual({ type: 'leave', name: 'target' });
    expect(await here.disconnectAnywhere('target')).toBe(false);
    // The sync form: true only for a local peer, and it reaches the other node all the same.
    const again = await hub.connect('callee');
    await again.login('again');
    // (Awaited: the Bun row's hub answers from its child process.)
    expect(await Promise.resolve(here.disconnect('again'))).toBe(local);
    expect((await again.closed).code).toBe(4403);
  });

  it('tells the host what became of a message: delivered, held, not-found', async () => {
    await start({ resumeGrace: 10000 });
    const peer = await hub.connect('callee');
    await peer.login('peer', { resume: true });
    const here = hub.hub('caller');
    expect(await here.deliver('peer', { type: 'note', n: 1 })).toBe('delivered');
    expect(await peer.nextOf('note')).toEqual({ type: 'note', n: 1 });
    expect(await here.deliver('nobody', { type: 'note' })).toBe('not-found');
    expect(await here.send('nobody', { type: 'note' })).toBe(false);
    if (hub.hubs.length === 1) {
      const dropped = hub.once('peer-dropped');
      peer.abort();
      await dropped;
      expect(await here.deliver('peer', { type: 'note', n: 2 })).toBe('held');
    }
  });
});
