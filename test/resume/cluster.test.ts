import { expect, it } from 'vitest';
import {
  clusterSuite,
  connected,
  hostOf,
  leaves,
  loggedIn,
  resumable,
  sleep,
  startCall,
  untilAsync,
  watchHub,
} from '../helpers/cluster.js';
import { until } from '../helpers/events.js';
import { type Frame, TestClient } from '../helpers/test-client.js';

/**
 * A peer dropped by one node resumes on another: the holder's node hands the
 * name, the held relays and the calls over in one atomic step. The same
 * suite runs through Redis and in memory; what only Redis can do (stall,
 * lose an answer) is in cluster-stalls.test.ts.
 */
clusterSuite('resuming on another node', 'r', (cluster) => {
  const { clients } = cluster;

  it('hands a dropped peer over: the held candidate comes right after the login reply, nobody hears leave, the call goes on', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watchHub(one.hub);
    const onTwo = watchHub(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');

    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    // Held on node one, or on its way there when the resume starts: either way it comes first (in order, always).
    bob.send({ type: 'candidate', candidate: { n: 1 }, name: 'alice' });

    const back = await connected(two.url, clients);
    const reply = await back.login('alice', { token, resume: true });
    expect(reply).toMatchObject({ type: 'login', success: true, name: 'alice' });
    expect(reply.token).not.toBe(token);
    // The held candidate is the very next frame, before anything newer.
    bob.send({ type: 'candidate', candidate: { n: 2 }, name: 'alice' });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: { n: 1 }, name: 'bob' });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: { n: 2 }, name: 'bob' });
    back.send({ type: 'candidate', candidate: { n: 3 }, name: 'bob' });
    expect(await bob.nextOf('candidate')).toEqual({ type: 'candidate', candidate: { n: 3 }, name: 'alice' });

    expect(onTwo.resumed).toEqual([
      expect.objectContaining({
        peer: expect.objectContaining({ name: 'alice', node: cluster.nodeId(two) }),
        previous: expect.objectContaining({ name: 'alice', node: cluster.nodeId(one) }),
      }),
    ]);
    expect(await cluster.listNames(two)).toEqual(
      new Map([
        ['alice', cluster.nodeId(two)],
        ['bob', cluster.nodeId(two)],
      ]),
    );
    // A sentinel from node one through the path a leave from it would take: none came before it.
    expect(await one.hub.send('bob', { type: 'sentinel' })).toBe(true);
    expect(await bob.nextOf('sentinel')).toEqual({ type: 'sentinel' });
    expect(leaves(bob)).toEqual([]);
    expect(onOne.left).toEqual([]);
    expect(one.hub.stats().connections).toBe(0);
    expect(onOne.errors).toEqual([]);
    expect(onTwo.errors).toEqual([]);

    // The call is tracked on node two: a clean close tells bob.
    back.close(1000);
    expect(await bob.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
  });

  it('resumes over a connection still open on node one: it is closed 4409 and nobody hears leave', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const carol = await loggedIn(one.url, 'carol', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    await startCall(carol, 'carol', alice, 'alice');

    const back = await connected(two.url, clients);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    expect((await alice.closed).code).toBe(4409);
    // Both partners reach alice on node two, one from each node.
    carol.send({ type: 'candidate', candidate: 'from carol', name: 'alice' });
    expect(await back.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'from carol', name: 'carol' });
    bob.send({ type: 'candidate', candidate: 'from bob', name: 'alice' });
    expect(await back.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'from bob', name: 'bob' });
    // Sentinels from node one, through the paths a leave from it would take (to bob across nodes, to carol locally).
    expect(await one.hub.send('bob', { type: 'sentinel' })).toBe(true);
    expect(await bob.nextOf('sentinel')).toEqual({ type: 'sentinel' });
    expect(await one.hub.send('carol', { type: 'sentinel' })).toBe(true);
    expect(await carol.nextOf('sentinel')).toEqual({ type: 'sentinel' });
    expect(leaves(bob)).toEqual([]);
    expect(leaves(carol)).toEqual([]);
    expect(onOne.left).toEqual([]);
    // carol (node one) knows where alice is now: her clean close reaches carol.
    back.close(1000);
    expect(await carol.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
    expect(await bob.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
  });

  it('refuses a wrong token with name-taken and leaves the holder as it was', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    const thief = await connected(two.url, clients);
    expect(await thief.login('alice', { token: 'not-the-token', resume: true })).toMatchObject({
      success: false,
      reason: 'name-taken',
    });
    bob.send({ type: 'offer', offer: { sdp: 'still here' }, name: 'alice' });
    expect(await alice.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: 'still here' }, name: 'bob' });
    expect(await cluster.listNames(one)).toEqual(
      new Map([
        ['alice', cluster.nodeId(one)],
        ['bob', cluster.nodeId(two)],
      ]),
    );
    expect(onOne.left).toEqual([]);
  });

  it('logs in afresh with a token whose name is held nowhere any more', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onTwo = watchHub(two.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    alice.close(1000);
    await until(() => one.hub.stats().connections === 0, 'the logout');
    // The release is fire and forget: wait (with a deadline) until the cluster no longer holds the name.
    await untilAsync(async () => !(await cluster.listNames(two)).has('alice'), 'the release');
    const back = await connected(two.url, clients);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    expect(onTwo.resumed).toEqual([]);
  });

  it('keeps held relays in order across the hand-over: a remote sender loses none, a sender on the resuming node is told of each it loses', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const three = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    const dave = await loggedIn(three.url, 'dave', clients);
    await startCall(alice, 'alice', bob, 'bob');
    await startCall(alice, 'alice', dave, 'dave');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    const count = 50;
    const back = await connected(two.url, clients);
    let login: Promise<Frame> | undefined;
    for (let n = 0; n < count; n++) {
      if (n === 15) login = back.login('alice', { token, resume: true });
      bob.send({ type: 'candidate', candidate: { from: 'bob', n }, name: 'alice' });
      dave.send({ type: 'candidate', candidate: { from: 'dave', n }, name: 'alice' });
      await sleep(10);
    }
    expect(await login).toMatchObject({ success: true });
    const received = (from: string) =>
      back.inbox
        .filter((frame) => frame.type === 'candidate' && frame.name === from)
        .map((frame) => (frame.candidate as { n: number }).n);
    const lost = (client: TestClient) => client.inbox.filter((frame) => frame.type === 'error' && frame.target === 'alice');
    await until(
      () => received('dave').length === count && received('bob').length + lost(bob).length === count,
      'every candidate delivered or reported',
      5000,
    );
    // From another node: every one, once, in order.
    expect(received('dave')).toEqual([...Array(count).keys()]);
    expect(lost(dave)).toEqual([]);
    // From the resuming node: in order, at most once; those sent while the login was being decided there were refused.
    const fromBob = received('bob');
    expect(fromBob).toEqual([...new Set(fromBob)].sort((a, b) => a - b));
    expect(fromBob.slice(0, 15)).toEqual([...Array(15).keys()]);
    expect(fromBob.at(-1)).toBe(count - 1);
    for (const error of lost(bob)) expect(error).toMatchObject({ code: 'peer-not-found', request: 'candidate' });
    expect(leaves(bob)).toEqual([]);
    expect(leaves(dave)).toEqual([]);
  });

  it('puts back what reached the name during a hand-over that did not happen, for the next resume', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const bob = await loggedIn(two.url, 'bob', clients);
    await startCall(alice, 'alice', bob, 'bob');
    alice.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    // As if the claim changed under node one: its hand-over script finds another claim id and moves nothing.
    const host = hostOf(one);
    const handOverRequested = host.handOverRequested.bind(host);
    host.handOverRequested = (name, resumeToken) => {
      host.handOverRequested = handOverRequested;
      const offered = handOverRequested(name, resumeToken)!;
      // A relay from node two reaches alice's holder while it is set aside: the core passes it on to the backplane.
      queueMicrotask(() =>
        host.deliver({
          kind: 'candidate',
          from: 'bob',
          fromNode: cluster.nodeId(two),
          to: 'alice',
          frame: JSON.stringify({ type: 'candidate', candidate: 'meanwhile', name: 'bob' }),
        }),
      );
      return { claimId: 'not-the-claim', grant: offered.grant };
    };
    const back = await connected(two.url, clients);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: false, reason: 'name-taken' });
    expect(await cluster.listNames(one)).toEqual(
      new Map([
        ['alice', cluster.nodeId(one)],
        ['bob', cluster.nodeId(two)],
      ]),
    );
    // Held again on node one, after the move failed: the next resume delivers it.
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: 'meanwhile', name: 'bob' });
    expect(onOne.left).toEqual([]);
    expect(leaves(bob)).toEqual([]);
  });

  it('after a drain of node one, a partner on a third node hears no leave for the peer that resumed on node two', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const three = await cluster.node();
    const threeUp = Date.now();
    const { client: alice, token } = await resumable(one.url, 'alice', clients);
    const carol = await loggedIn(three.url, 'carol', clients);
    await startCall(carol, 'carol', alice, 'alice');

    const drained = one.hub.drain({ timeout: 10_000 });
    expect((await alice.closed).code).toBe(4503);
    const back = await connected(two.url, clients);
    expect(await back.login('alice', { token, resume: true })).toMatchObject({ success: true });
    await drained;
    expect(one.hub.closed).toBe(true);
    const closedAt = Date.now();
    // Long enough for node three's heartbeats to judge node one dead (they check leases once up for a leaseTtl).
    await sleep(Math.max(1000, threeUp + 1500 + 1000 - closedAt));
    expect(await cluster.listNodes(three)).not.toContain(cluster.nodeId(one));
    expect(leaves(carol)).toEqual([]);
    carol.send({ type: 'candidate', candidate: 'after the drain', name: 'alice' });
    expect(await back.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'after the drain', name: 'carol' });
    back.send({ type: 'candidate', candidate: 'back', name: 'carol' });
    expect(await carol.nextOf('candidate')).toEqual({ type: 'candidate', candidate: 'back', name: 'alice' });
    back.close(1000);
    expect(await carol.nextOf('leave')).toEqual({ type: 'leave', name: 'alice' });
  });

  it('reports and ignores malformed or unexpected control messages', async () => {
    const one = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: alice } = await resumable(one.url, 'alice', clients);
    const grant = { previous: { id: 1, remoteAddress: null, node: 'x', joinedAt: 0 }, parked: [], partners: [] };
    for (const message of [
      '{not json',
      JSON.stringify({ t: 'resume', id: 'abc', node: 'other', name: 'alice' }),
      JSON.stringify({ t: 'resume', id: 'abc', node: 'has space', name: 'alice', token: 't', claim: '1', deadline: '0' }),
      JSON.stringify({
        t: 'resume-grant',
        id: 'abc',
        name: 'alice',
        claim: '1',
        grant: { ...grant, parked: [['bad', '', 'x', '']] },
      }),
      JSON.stringify({ t: 'resume-grant', id: 'unknown', name: 'alice', claim: '1', grant }),
      JSON.stringify({ t: 'surprise', id: 'abc' }),
    ]) {
      await cluster.publish(cluster.nodeId(one), message);
    }
    await until(() => onOne.errors.length === 6, 'six reports');
    expect(onOne.errors.map((error) => [error.code, /malformed control message|did not ask for/.test(error.message)])).toEqual(
      Array(6).fill(['SH_ERR_BACKPLANE', true]),
    );
    // Nothing changed: alice is still held and reachable.
    expect(await cluster.listNames(one)).toEqual(new Map([['alice', cluster.nodeId(one)]]));
    expect(one.hub.getPeer('alice')).toBeDefined();
    expect(alice.isOpen).toBe(true);
  });
});
