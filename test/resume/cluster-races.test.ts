import { expect, it } from 'vitest';
import type { HandOverMove, HandOverReply } from '../../src/cluster/bus.js';
import {
  beforeNextHandOver,
  clusterSuite,
  connected,
  loggedIn,
  resumable,
  sleep,
  startCall,
  watchHub,
} from '../helpers/cluster.js';
import type { HubServer } from '../helpers/hub-server.js';
import { until } from '../helpers/events.js';
import type { Frame, TestClient } from '../helpers/test-client.js';

/** The numbers of the candidates `client` received from `from`, in the order received. */
const numbers = (client: TestClient, from: string) =>
  client.inbox
    .filter((frame) => frame.type === 'candidate' && frame.name === from)
    .map((frame) => (frame.candidate as { n: number }).n);

/** The errors `sender` was told about relays to `target`. */
const told = (sender: TestClient, target: string) =>
  sender.inbox.filter((frame) => frame.type === 'error' && frame.target === target);

/**
 * Sends numbered candidates from `sender` to `target` every 2 ms (pacing, not
 * a wait for something), calling `at[n]` just before candidate `n`; resolves
 * with how many were sent.
 */
async function flood(sender: TestClient, target: string, count: number, at: Record<number, () => void> = {}): Promise<number> {
  for (let n = 0; n < count; n++) {
    at[n]?.();
    sender.send({ type: 'candidate', candidate: { n }, name: target });
    await sleep(2);
  }
  return count;
}

/** What the tests reach inside a cluster backplane: what it reads from its channel (bytes over Redis), and its bus. */
interface Inside {
  receive(message: string | Buffer): void;
  bus: { handOver(move: HandOverMove): Promise<HandOverReply> };
}
const inside = (node: HubServer) => node.hub.options.backplane as unknown as Inside;
/** A channel message as text, for the checks below (it is passed on as it came). */
const textOf = (message: string | Buffer) => (typeof message === 'string' ? message : message.toString());

/** Calls `then` once, the first time `node` reads envelopes (not a control message) from its channel after a resume grant. */
function onEnvelopesAfterGrant(node: HubServer, then: () => void): void {
  const backplane = inside(node);
  const receive = backplane.receive.bind(backplane);
  let done = false;
  let granted = false;
  backplane.receive = (message) => {
    receive(message);
    const text = textOf(message);
    if (text.startsWith('{"t":"resume-grant"')) granted = true;
    if (!done && granted && !text.startsWith('{')) {
      done = true;
      then();
    }
  };
}

/**
 * Makes `node` read its channel late from the moment it sets a holder aside
 * for a hand-over (as a node whose event loop is busy would): what arrives
 * meanwhile waits, in order, until `open()`. The hand-over's atomic step
 * waits until an envelope has arrived (so one reached the node just before
 * the claim moved).
 */
function readLateDuringHandOver(node: HubServer): { open(): void; held(): number } {
  const backplane = inside(node);
  const receive = backplane.receive.bind(backplane);
  let closed = false;
  const queue: Array<string | Buffer> = [];
  let arrived: (() => void) | undefined;
  beforeNextHandOver(node, () => {
    closed = true;
  });
  backplane.receive = (message) => {
    if (!closed) return receive(message);
    queue.push(message);
    if (!textOf(message).startsWith('{')) arrived?.();
  };
  const bus = backplane.bus;
  const handOver = bus.handOver.bind(bus);
  bus.handOver = async (move) => {
    if (!queue.some((message) => !textOf(message).startsWith('{'))) await new Promise<void>((resolve) => (arrived = resolve));
    return handOver(move);
  };
  return {
    open() {
      closed = false;
      for (const text of queue.splice(0)) receive(text);
    },
    held: () => queue.length,
  };
}

/** Holds what `node` reads from its channel from now on, in order, until `open()`; `holding(prefix)`: whether a held text starts so. */
function readLate(node: HubServer): { open(): void; holding(prefix: string): boolean } {
  const backplane = inside(node);
  const receive = backplane.receive.bind(backplane);
  let closed = true;
  const queue: Array<string | Buffer> = [];
  backplane.receive = (message) => {
    if (closed) queue.push(message);
    else receive(message);
  };
  return {
    open() {
      closed = false;
      for (const text of queue.splice(0)) receive(text);
    },
    holding: (prefix) => queue.some((message) => textOf(message).startsWith(prefix)),
  };
}

/**
 * Resumes across nodes while a partner on a third node keeps sending: what
 * reached the old node just before the claim moved, what went straight to
 * the new one, and what waited on a losing resume's connection all reach the
 * peer once, in the order sent (#17 items 3 and 4).
 */
clusterSuite('resuming on another node while a partner keeps sending', 'rr', (cluster) => {
  const { clients } = cluster;

  it('delivers in order, always: candidates that reached the old node before the move come before those sent straight to the new one', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const three = await cluster.node();
    const onOne = watchHub(one.hub);
    for (let round = 0; round < 8; round++) {
      const victim = `v${round}`;
      const partner = `p${round}`;
      const { client: dropped, token } = await resumable(one.url, victim, clients);
      const sender = await loggedIn(three.url, partner, clients);
      await startCall(sender, partner, dropped, victim);
      const drops = onOne.dropped.length;
      dropped.socket.terminate();
      await until(() => onOne.dropped.length > drops, 'the drop on node one');

      const back = await connected(two.url, clients);
      let login: Promise<Frame> | undefined;
      const count = 120;
      await flood(sender, victim, count, {
        40: () => {
          login = back.login(victim, { token, resume: true });
        },
      });
      expect(await login).toMatchObject({ success: true, name: victim });
      await until(
        () => numbers(back, partner).length + told(sender, victim).length >= count,
        `every candidate of round ${round} delivered or reported`,
      );
      const received = numbers(back, partner);
      expect(received, `round ${round}`).toEqual([...received].sort((a, b) => a - b));
      expect(new Set(received).size).toBe(received.length);
      expect(received.length + told(sender, victim).length).toBe(count);
      expect(told(sender, victim).filter((frame) => frame.code === 'peer-gone')).toEqual([]);
    }
  });

  it('delivers in order a candidate the old node read after the claim moved, behind ones that went straight to the new node', async () => {
    // Node one's channel is read late below: everything for it comes there.
    const one = await cluster.node({ channelOnly: true });
    const two = await cluster.node();
    const three = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: dropped, token } = await resumable(one.url, 'alice', clients);
    const sender = await loggedIn(three.url, 'carol', clients);
    await startCall(sender, 'carol', dropped, 'alice');
    dropped.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');

    const late = readLateDuringHandOver(one);
    let granted = false;
    // Node two reads a candidate sent straight to it: only then does node one read what it held back.
    onEnvelopesAfterGrant(two, () => late.open());
    const back = await connected(two.url, clients);
    const login = back.login('alice', { token, resume: true }).then((reply) => {
      granted = true;
      return reply;
    });
    let sent = 0;
    const sending = (async () => {
      while (!granted || late.held() > 0 || sent < 20) {
        sender.send({ type: 'candidate', candidate: { n: sent++ }, name: 'alice' });
        await sleep(2);
        if (sent > 2000) break;
      }
    })();
    expect(await login).toMatchObject({ success: true, name: 'alice' });
    await sending;
    await until(
      () => numbers(back, 'carol').length + told(sender, 'alice').length >= sent,
      'every candidate delivered or reported',
    );
    const received = numbers(back, 'carol');
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(received.length + told(sender, 'alice').length).toBe(sent);
    expect(told(sender, 'alice')).toEqual([]);
  });

  it('two racing resumes from two nodes: one wins, and it gets every candidate, in order; nobody hears peer-gone', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const three = await cluster.node();
    const onOne = watchHub(one.hub);
    for (let round = 0; round < 6; round++) {
      const victim = `w${round}`;
      const partner = `q${round}`;
      const { client: dropped, token } = await resumable(one.url, victim, clients);
      const sender = await loggedIn(three.url, partner, clients);
      await startCall(sender, partner, dropped, victim);
      const drops = onOne.dropped.length;
      dropped.socket.terminate();
      await until(() => onOne.dropped.length > drops, 'the drop on node one');

      const onTwo = await connected(two.url, clients);
      const onThree = await connected(three.url, clients);
      let logins: Array<Promise<Frame>> = [];
      const count = 120;
      await flood(sender, victim, count, {
        40: () => {
          logins = [onTwo.login(victim, { token, resume: true }), onThree.login(victim, { token, resume: true })];
        },
      });
      const replies = await Promise.all(logins);
      const winners = replies.filter((reply) => reply.success === true);
      expect(winners, `round ${round}`).toHaveLength(1);
      const winner = replies[0]!.success === true ? onTwo : onThree;
      await until(
        () => numbers(winner, partner).length + told(sender, victim).length >= count,
        `every candidate of round ${round} delivered or reported`,
      );
      const received = numbers(winner, partner);
      expect(received, `round ${round}`).toEqual([...received].sort((a, b) => a - b));
      expect(received.length + told(sender, victim).length).toBe(count);
      expect(told(sender, victim).filter((frame) => frame.code === 'peer-gone')).toEqual([]);
    }
  });

  it('a losing resume whose connection closes before it is decided: what was parked on it goes on to the winner, nobody hears peer-gone', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const three = await cluster.node();
    const onOne = watchHub(one.hub);
    const { client: dropped, token } = await resumable(one.url, 'alice', clients);
    const sender = await loggedIn(three.url, 'carol', clients);
    const witness = await loggedIn(three.url, 'walt', clients);
    await startCall(sender, 'carol', dropped, 'alice');
    dropped.socket.terminate();
    await until(() => onOne.dropped.length === 1, 'the drop on node one');
    // The winner: alice resumes on node two.
    const winner = await connected(two.url, clients);
    expect(await winner.login('alice', { token, resume: true })).toMatchObject({ success: true });

    // A second resume with the old token, from node three, waits for node two's answer.
    const late = readLate(two);
    const loser = await connected(three.url, clients);
    void loser.login('alice', { token, resume: true }).catch(() => undefined);
    await until(() => late.holding('{"t":"resume"'), 'the second resume request on node two');
    const count = 10;
    for (let n = 0; n < count; n++) sender.send({ type: 'candidate', candidate: { n }, name: 'alice' });
    // Through the same connection: once walt has it, node three has parked carol's candidates on the resuming login.
    sender.send({ type: 'candidate', candidate: 'sentinel', name: 'walt' });
    await witness.nextOf('candidate');
    const before = three.hub.stats().connections;
    loser.socket.terminate();
    await until(() => three.hub.stats().connections < before, 'the loser closed on node three');
    late.open();

    await until(
      () => numbers(winner, 'carol').length + told(sender, 'alice').length >= count,
      'every candidate delivered or reported',
    );
    expect(numbers(winner, 'carol')).toEqual([...Array(count).keys()]);
    expect(told(sender, 'alice')).toEqual([]);
  });
});
