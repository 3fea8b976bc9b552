import { afterEach, describe, expect, it } from 'vitest';
import {
  type HubOptions,
  MemoryCluster,
  type PeerDropped,
  type PeerLeft,
  type PeerResumed,
  SignallingHub,
  type Transport,
} from '../../src/index.js';
import { until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

class RecordingTransport implements Transport {
  readonly frames: Array<Record<string, unknown>> = [];
  closedWith: [number, string] | undefined;
  send(message: string | Uint8Array): void {
    this.frames.push(
      JSON.parse(typeof message === 'string' ? message : new TextDecoder().decode(message)) as Record<string, unknown>,
    );
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
  }
  types(): string[] {
    return this.frames.map((frame) => frame.type as string);
  }
}

const hubs: SignallingHub[] = [];
function newHub(options?: HubOptions) {
  const hub = new SignallingHub(options);
  hubs.push(hub);
  const events = { dropped: [] as PeerDropped[], resumed: [] as PeerResumed[], left: [] as PeerLeft[] };
  hub.on('peer-dropped', (event) => events.dropped.push(event));
  hub.on('peer-resumed', (event) => events.resumed.push(event));
  hub.on('peer-left', (event) => events.left.push(event));
  return { hub, events };
}

function connect(hub: SignallingHub) {
  const transport = new RecordingTransport();
  const session = hub.open(transport);
  const send = (message: object) => session.receive(JSON.stringify(message));
  return { transport, session, send };
}

/** Logs in and returns the connection with its token. */
function join(hub: SignallingHub, name: string, extra: object = {}) {
  const client = connect(hub);
  client.send({ type: 'login', name, ...extra });
  const reply = client.transport.frames.at(-1)!;
  expect(reply).toMatchObject({ type: 'login', success: true });
  return { ...client, token: reply.token as string };
}

/** A call between a resumable `alice` and a classic `bob`. */
function call(hub: SignallingHub) {
  const alice = join(hub, 'alice', { resume: true });
  const bob = join(hub, 'bob');
  alice.send({ type: 'offer', offer: { sdp: 'o' }, name: 'bob' });
  bob.send({ type: 'answer', answer: { sdp: 'a' }, name: 'alice' });
  return { alice, bob };
}

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});

describe('resuming a dropped peer', () => {
  it('tells the partners of a classic (non-resumable) peer `leave` at once when it drops', () => {
    const { hub } = newHub();
    const bob = join(hub, 'bob');
    const carol = join(hub, 'carol');
    bob.send({ type: 'offer', offer: {}, name: 'carol' });
    bob.session.closed(1006);
    expect(carol.transport.frames.at(-1)).toEqual({ type: 'leave', name: 'bob' });
    expect(hub.getPeer('bob')).toBeUndefined();
  });

  it('keeps a dropped peer’s name and calls, parks relays to it, and hands them over on resume before anything newer', () => {
    const { hub, events } = newHub();
    const { alice, bob } = call(hub);
    const bobFrames = bob.transport.frames.length;
    alice.session.closed(1006);
    expect(events.dropped).toEqual([expect.objectContaining({ peer: expect.objectContaining({ name: 'alice' }), code: 1006 })]);
    expect(events.left).toEqual([]);
    expect(bob.transport.frames).toHaveLength(bobFrames);
    // The name is reserved: another login gets name-taken, a wrong token too.
    const mallory = connect(hub);
    mallory.send({ type: 'login', name: 'alice' });
    mallory.send({ type: 'login', name: 'alice', token: 'guess', resume: true });
    expect(mallory.transport.frames.map((frame) => frame.reason)).toEqual(['name-taken', 'name-taken']);
    expect(hub.stats()).toMatchObject({ peers: 1, droppedPeers: 1, resumes: 0 });
    // Relays to it are parked, in order.
    bob.send({ type: 'candidate', candidate: { c: 1 }, name: 'alice' });
    bob.session.receive(new TextEncoder().encode('{"type":"candidate","candidate":{"c":2},"name":"alice"}'));
    void hub.send('alice', { type: 'notice', text: 'host message' });
    expect(bob.transport.frames).toHaveLength(bobFrames);

    const back = connect(hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    expect(back.transport.frames[0]).toMatchObject({ type: 'login', success: true, name: 'alice' });
    expect(back.transport.frames[0]!.token).not.toBe(alice.token);
    expect(back.transport.frames.slice(1)).toEqual([
      { type: 'candidate', candidate: { c: 1 }, name: 'bob' },
      { type: 'candidate', candidate: { c: 2 }, name: 'bob' },
      { type: 'notice', text: 'host message' },
    ]);
    expect(events.resumed).toEqual([
      expect.objectContaining({
        peer: expect.objectContaining({ name: 'alice' }),
        previous: expect.objectContaining({ name: 'alice' }),
      }),
    ]);
    expect(events.left).toEqual([]);
    expect(hub.stats()).toMatchObject({ peers: 2, droppedPeers: 0, resumes: 1 });
    // The call is still tracked: when the resumed alice closes for good, bob hears leave.
    back.session.closed(1000);
    expect(bob.transport.frames.at(-1)).toEqual({ type: 'leave', name: 'alice' });
    // The old token was single-use.
    const again = connect(hub);
    again.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    expect(again.transport.frames[0]).toMatchObject({ success: true });
    expect(again.transport.frames).toHaveLength(1);
  });

  it('resumes over a stale connection that is still open: it is closed 4409 and nobody hears leave', () => {
    const { hub, events } = newHub();
    const { alice, bob } = call(hub);
    const bobFrames = bob.transport.frames.length;
    const back = connect(hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    expect(back.transport.frames[0]).toMatchObject({ success: true });
    expect(alice.transport.closedWith?.[0]).toBe(4409);
    expect(bob.transport.frames).toHaveLength(bobFrames);
    expect(events.left).toEqual([]);
    expect(events.resumed).toHaveLength(1);
    bob.send({ type: 'candidate', candidate: 3, name: 'alice' });
    expect(back.transport.frames.at(-1)).toEqual({ type: 'candidate', candidate: 3, name: 'bob' });
  });

  it('ends at once on a clean close (1000 or 1001): partners hear leave', () => {
    const { hub, events } = newHub();
    for (const code of [1000, 1001]) {
      const { alice, bob } = call(hub);
      alice.session.closed(code);
      expect(bob.transport.frames.at(-1)).toEqual({ type: 'leave', name: 'alice' });
      expect(events.left.at(-1)).toMatchObject({ name: 'alice', reason: 'closed', code });
      bob.session.closed(1000);
    }
    expect(events.dropped).toEqual([]);
  });

  it('after the grace: partners hear leave, peer-left says resume-expired, each sender of a parked relay hears peer-gone once', async () => {
    const { hub, events } = newHub({ resumeGrace: 100 });
    const { alice, bob } = call(hub);
    const carol = join(hub, 'carol');
    alice.session.closed(1006);
    bob.send({ type: 'candidate', candidate: 1, name: 'alice' });
    bob.send({ type: 'candidate', candidate: 2, name: 'alice' });
    carol.send({ type: 'offer', offer: {}, name: 'alice' });
    await until(() => events.left.length === 1, 'the expiry', 2000);
    expect(events.left[0]).toMatchObject({ name: 'alice', reason: 'resume-expired' });
    expect(bob.transport.frames.slice(-2)).toEqual([
      expect.objectContaining({ type: 'error', code: 'peer-gone', target: 'alice', request: 'candidate' }),
      { type: 'leave', name: 'alice' },
    ]);
    expect(bob.transport.frames.filter((frame) => frame.code === 'peer-gone')).toHaveLength(1);
    // Carol's offer made a call with alice: she hears peer-gone, then leave.
    expect(carol.transport.frames.slice(-2)).toEqual([
      expect.objectContaining({ type: 'error', code: 'peer-gone', target: 'alice', request: 'offer' }),
      { type: 'leave', name: 'alice' },
    ]);
    // The name is free again; the old token is worthless.
    const back = connect(hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    expect(back.transport.frames[0]).toMatchObject({ success: true });
  });

  it('bounds what is parked per dropped peer: past it senders get peer-congested', () => {
    const { hub } = newHub({ resumeMaxMessages: 2 });
    const { alice, bob } = call(hub);
    alice.session.closed(1006);
    for (let i = 0; i < 3; i++) bob.send({ type: 'candidate', candidate: i, name: 'alice' });
    expect(bob.transport.frames.at(-1)).toMatchObject({ type: 'error', code: 'peer-congested', target: 'alice' });
  });

  it('holds a leave only from a call partner, one per sender at its latest place, the hub’s own leaves too', () => {
    const { hub } = newHub();
    const { alice, bob } = call(hub);
    const carol = join(hub, 'carol');
    carol.send({ type: 'offer', offer: {}, name: 'alice' });
    const dave = join(hub, 'dave');
    alice.session.closed(1006);
    bob.send({ type: 'candidate', candidate: 1, name: 'alice' });
    bob.send({ type: 'leave', name: 'alice' });
    // A new call, and its end: the later leave replaces the earlier one, after the offer.
    bob.send({ type: 'offer', offer: { n: 2 }, name: 'alice' });
    bob.send({ type: 'leave', name: 'alice' });
    expect(hub.stats().heldBytes).toBe(
      [
        '{"type":"candidate","candidate":1,"name":"bob"}',
        '{"type":"offer","offer":{"n":2},"name":"bob"}',
        '{"type":"leave","name":"bob"}',
      ]
        .map((frame) => frame.length)
        .reduce((a, b) => a + b),
    );
    // Not a partner: its leaves end no call, are not held, and are not answered.
    const held = hub.stats().heldBytes;
    for (let i = 0; i < 100; i++) dave.send({ type: 'leave', name: 'alice' });
    expect(hub.stats().heldBytes).toBe(held);
    expect(dave.transport.frames).toHaveLength(1);
    // A partner that goes: the hub holds its leave, once.
    carol.session.closed(1000);
    const back = connect(hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    expect(back.transport.frames.slice(1)).toEqual([
      { type: 'candidate', candidate: 1, name: 'bob' },
      { type: 'offer', offer: { n: 2 }, name: 'bob' },
      { type: 'leave', name: 'bob' },
      { type: 'leave', name: 'carol' },
    ]);
    expect(hub.stats().heldBytes).toBe(0);
  });

  it('resumeGrace 0 disables it: a resumable peer that drops leaves at once', () => {
    const { hub, events } = newHub({ resumeGrace: 0 });
    const { alice, bob } = call(hub);
    alice.session.closed(1006);
    expect(bob.transport.frames.at(-1)).toEqual({ type: 'leave', name: 'alice' });
    expect(events.dropped).toEqual([]);
  });

  it('hub.disconnect ends a reservation', () => {
    const { hub, events } = newHub();
    const { alice, bob } = call(hub);
    alice.session.closed(1006);
    expect(hub.disconnect('alice')).toBe(true);
    expect(events.left).toEqual([expect.objectContaining({ name: 'alice', reason: 'disconnected' })]);
    expect(bob.transport.frames.at(-1)).toEqual({ type: 'leave', name: 'alice' });
  });
});

describe('hub.drain()', () => {
  it('closes resumable peers with 4503 keeping their names, others with 1001, refuses newcomers; alone, it resolves once the connections are gone', async () => {
    const { hub, events } = newHub({ resumeGrace: 60_000 });
    const { alice, bob } = call(hub);
    const idle = connect(hub);
    const drained = hub.drain({ timeout: 60_000 });
    expect(alice.transport.closedWith?.[0]).toBe(4503);
    expect(bob.transport.closedWith?.[0]).toBe(1001);
    expect(idle.transport.closedWith?.[0]).toBe(1001);
    expect(hub.accepting).toBe(false);
    expect(events.dropped.map((event) => [event.peer.name, event.code])).toEqual([['alice', 4503]]);
    const late = connect(hub);
    expect(late.transport.closedWith?.[0]).toBe(1001);
    // No backplane: nobody can resume elsewhere, so there is nothing to wait for.
    await drained;
    expect(events.left.map((event) => [event.name, event.reason])).toEqual([
      ['bob', 'hub-closed'],
      ['alice', 'hub-closed'],
    ]);
    expect(hub.closed).toBe(true);
  });

  it('with a backplane, waits until the drained peers resumed on another node', async () => {
    const bus = new MemoryCluster();
    const one = newHub({ backplane: bus.backplane('one') });
    const two = newHub({ backplane: bus.backplane('two') });
    await Promise.all([one.hub.ready, two.hub.ready]);
    const alice = await joinAsync(one.hub, 'alice', { resume: true });
    const draining = one.hub.drain({ timeout: 60_000 });
    expect(alice.transport.closedWith?.[0]).toBe(4503);
    const back = connect(two.hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    await draining;
    // The name moved when node one let alice go; node two answers once the hand-over's tail is in.
    await until(() => back.transport.frames.length > 0, 'the login reply on node two');
    expect(back.transport.frames[0]).toMatchObject({ type: 'login', success: true, resumed: true });
    expect(one.events.left).toEqual([]);
  });

  it('resolves at the timeout when reservations remain', async () => {
    const bus = new MemoryCluster();
    const { hub } = newHub({ resumeGrace: 60_000, backplane: bus.backplane('one') });
    await hub.ready;
    await joinAsync(hub, 'alice', { resume: true });
    const started = Date.now();
    await hub.drain({ timeout: 100 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(hub.closed).toBe(true);
  });
});

describe('resume over ws', () => {
  let server: HubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('a peer whose socket is destroyed resumes on a new socket; its partner hears nothing and gets its relay through', async () => {
    server = await startHubServer();
    const alice = await TestClient.connect(server.url);
    const bob = await TestClient.connect(server.url);
    const { token } = await alice.login('alice', { resume: true });
    await bob.login('bob');
    alice.send({ type: 'offer', offer: { sdp: 'o' }, name: 'bob' });
    await bob.nextOf('offer');
    // No close frame: the TCP connection just goes.
    alice.socket.terminate();
    await until(() => server!.hub.getPeer('alice') === undefined, 'the drop');
    bob.send({ type: 'answer', answer: { sdp: 'a' }, name: 'alice' });
    const back = await TestClient.connect(server.url);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    expect(await back.nextOf('answer')).toEqual({ type: 'answer', answer: { sdp: 'a' }, name: 'bob' });
    // Barrier: a relay after the resume takes the path a leave at the drop would have taken, and comes after it.
    back.send({ type: 'candidate', candidate: 'sentinel', name: 'bob' });
    expect(await bob.nextOf('candidate')).toMatchObject({ candidate: 'sentinel', name: 'alice' });
    expect(bob.inbox.filter((frame) => frame.type === 'leave')).toEqual([]);
    back.close();
    bob.close();
  });
});

/** Logs in through a backplane (the claim is asynchronous). */
async function joinAsync(hub: SignallingHub, name: string, extra: object = {}) {
  const client = connect(hub);
  client.send({ type: 'login', name, ...extra });
  await until(() => client.transport.frames.length > 0, `the login of ${name}`);
  const reply = client.transport.frames.at(-1)!;
  expect(reply).toMatchObject({ type: 'login', success: true });
  return { ...client, token: reply.token as string };
}

describe('resuming on another node (the core over an in-memory backplane)', () => {
  async function cluster() {
    const bus = new MemoryCluster();
    const one = newHub({ backplane: bus.backplane('one') });
    const two = newHub({ backplane: bus.backplane('two') });
    await Promise.all([one.hub.ready, two.hub.ready]);
    const three = newHub({ backplane: bus.backplane('three') });
    await three.hub.ready;
    // The bus delivers in microtasks: once the next macrotask runs, everything sent before has arrived.
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    return { bus, one, two, three, settle };
  }

  it('a peer dropped on node one resumes on node two: held relays follow, its partner hears nothing, the call goes on', async () => {
    const { one, two, settle } = await cluster();
    const alice = await joinAsync(one.hub, 'alice', { resume: true });
    const bob = await joinAsync(two.hub, 'bob');
    alice.send({ type: 'offer', offer: { sdp: 'o' }, name: 'bob' });
    await settle();
    bob.send({ type: 'answer', answer: { sdp: 'a' }, name: 'alice' });
    await settle();
    expect(alice.transport.frames.at(-1)).toMatchObject({ type: 'answer', name: 'bob' });
    alice.session.closed(1006);
    bob.send({ type: 'candidate', candidate: 1, name: 'alice' });
    await settle();
    const back = connect(two.hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    await until(() => back.transport.frames.length >= 2, 'the resume on node two');
    expect(back.transport.frames[0]).toMatchObject({ type: 'login', success: true });
    expect(back.transport.frames[1]).toEqual({ type: 'candidate', candidate: 1, name: 'bob' });
    expect(one.hub.stats().connections).toBe(0);
    expect(one.events.left).toEqual([]);
    expect(two.events.resumed).toEqual([
      expect.objectContaining({
        previous: expect.objectContaining({ name: 'alice', node: 'one' }),
        peer: expect.objectContaining({ node: 'two' }),
      }),
    ]);
    // Relays now go to node two, locally.
    bob.send({ type: 'candidate', candidate: 2, name: 'alice' });
    expect(back.transport.frames.at(-1)).toEqual({ type: 'candidate', candidate: 2, name: 'bob' });
    expect(bob.transport.frames.filter((frame) => frame.type === 'leave')).toEqual([]);
    // The call is tracked on node two: a clean close tells bob.
    back.session.closed(1000);
    expect(bob.transport.frames.at(-1)).toEqual({ type: 'leave', name: 'alice' });
  });

  it('resumes over a stale connection still open on the other node (closed 4409, no leave), and refuses a wrong token', async () => {
    const { one, two, settle } = await cluster();
    const alice = await joinAsync(one.hub, 'alice', { resume: true });
    const carol = await joinAsync(one.hub, 'carol');
    carol.send({ type: 'offer', offer: {}, name: 'alice' });
    const thief = connect(two.hub);
    thief.send({ type: 'login', name: 'alice', token: 'not-the-token', resume: true });
    await until(() => thief.transport.frames.length === 1, 'the refusal');
    expect(thief.transport.frames[0]).toMatchObject({ success: false, reason: 'name-taken' });
    const back = connect(two.hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    await until(() => back.transport.frames.length >= 1, 'the resume');
    expect(back.transport.frames[0]).toMatchObject({ success: true });
    expect(alice.transport.closedWith?.[0]).toBe(4409);
    // carol (node one) is told where alice went; her relays reach alice on node two.
    carol.send({ type: 'candidate', candidate: 'c', name: 'alice' });
    await settle();
    expect(back.transport.frames.at(-1)).toEqual({ type: 'candidate', candidate: 'c', name: 'carol' });
    expect(carol.transport.frames.filter((frame) => frame.type === 'leave')).toEqual([]);
    back.session.closed(1000);
    await settle();
    expect(carol.transport.frames.at(-1)).toEqual({ type: 'leave', name: 'alice' });
  });

  it('tells the partners on other nodes where the peer went, so the death of its old node is no leave', async () => {
    const { bus, one, two, three, settle } = await cluster();
    const alice = await joinAsync(one.hub, 'alice', { resume: true });
    await joinAsync(one.hub, 'erin');
    const dave = await joinAsync(three.hub, 'dave');
    dave.send({ type: 'offer', offer: {}, name: 'alice' });
    dave.send({ type: 'offer', offer: {}, name: 'erin' });
    await settle();
    alice.session.closed(1006);
    const back = connect(two.hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    await until(() => back.transport.frames.length >= 1, 'the resume');
    await settle();
    bus.crash('one');
    // erin was on node one: dave hears her leave; alice moved to node two: no leave for her.
    expect(dave.transport.frames.filter((frame) => frame.type === 'leave')).toEqual([{ type: 'leave', name: 'erin' }]);
  });

  it('parks relays from the resuming node while the resume is decided, and delivers them after the held ones', async () => {
    const { bus, one, two, settle } = await cluster();
    const alice = await joinAsync(one.hub, 'alice', { resume: true });
    const bob = await joinAsync(two.hub, 'bob');
    bob.send({ type: 'offer', offer: {}, name: 'alice' });
    await settle();
    alice.session.closed(1006);
    bob.send({ type: 'candidate', candidate: 'held', name: 'alice' });
    await settle();
    // What crosses the bus from now on waits: the resume request among it.
    const open = bus.hold();
    const back = connect(two.hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    bob.send({ type: 'candidate', candidate: 'during', name: 'alice' });
    expect(bob.transport.frames.filter((frame) => frame.type === 'error')).toEqual([]);
    open();
    await until(() => back.transport.frames.length >= 3, 'the resume and the relays');
    expect(back.transport.frames.map((frame) => (frame.type === 'login' ? 'login' : (frame.candidate ?? frame.type)))).toEqual([
      'login',
      'held',
      'during',
    ]);
  });

  it('a connection that closes while its resume is decided ends the peer: partners hear leave, senders peer-gone', async () => {
    const { bus, one, two, three, settle } = await cluster();
    const alice = await joinAsync(one.hub, 'alice', { resume: true });
    const dave = await joinAsync(three.hub, 'dave');
    dave.send({ type: 'offer', offer: {}, name: 'alice' });
    await settle();
    alice.session.closed(1006);
    dave.send({ type: 'candidate', candidate: 1, name: 'alice' });
    await settle();
    // What crosses the bus from now on waits: the resume request among it.
    const open = bus.hold();
    const back = connect(two.hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    back.session.closed(1006);
    open();
    await until(() => dave.transport.frames.some((frame) => frame.type === 'leave'), 'the leave');
    await settle();
    expect(dave.transport.frames.slice(1)).toEqual([
      { type: 'leave', name: 'alice' },
      expect.objectContaining({ type: 'error', code: 'peer-gone', target: 'alice', request: 'candidate' }),
    ]);
  });

  it('a resume with an old token after the name was released logs in afresh', async () => {
    const { one, two } = await cluster();
    const alice = await joinAsync(one.hub, 'alice', { resume: true });
    alice.session.closed(1000);
    const back = connect(two.hub);
    back.send({ type: 'login', name: 'alice', token: alice.token, resume: true });
    await until(() => back.transport.frames.length === 1, 'the login');
    expect(back.transport.frames[0]).toMatchObject({ success: true, resumed: false });
    expect(two.events.resumed).toEqual([]);
  });
});
