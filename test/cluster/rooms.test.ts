import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCluster } from '../../src/index.js';
import { clusterSuite, connected, hostOf, loggedIn, resumable } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import type { TestClient } from '../helpers/test-client.js';

async function join(client: TestClient, room: string): Promise<unknown> {
  const reply = await client.request({ type: 'join', room });
  expect(reply).toMatchObject({ type: 'join', success: true, room });
  return reply;
}

clusterSuite('rooms across nodes', 'rm', (cluster) => {
  afterEach(() => {
    for (const client of cluster.clients.splice(0)) client.close();
  });

  it('sends a broadcast across the bus once per node holding members, not once per member', async () => {
    const [one, two] = [await cluster.node(), await cluster.node()];
    const sender = await loggedIn(one.url, 'Sender', cluster.clients);
    const members = [
      await loggedIn(two.url, 'M1', cluster.clients),
      await loggedIn(two.url, 'M2', cluster.clients),
      await loggedIn(two.url, 'M3', cluster.clients),
    ];
    await join(sender, 'R');
    for (const member of members) {
      await join(member, 'R');
      expect(await sender.nextOf('joined')).toMatchObject({ name: expect.stringMatching(/^M/) as unknown });
    }
    // Each member heard the members that joined after it (through node two itself).
    for (const [index, member] of members.entries()) {
      for (let later = index + 1; later < members.length; later++)
        expect(await member.nextOf('joined')).toEqual({ type: 'joined', room: 'R', name: `M${later + 1}` });
    }
    const host = hostOf(two);
    const original = host.roomMessage!.bind(host);
    let arrived = 0;
    host.roomMessage = (fromNode, message) => {
      arrived++;
      original(fromNode, message);
    };
    const count = 5;
    for (let n = 0; n < count; n++) sender.send({ type: 'broadcast', room: 'R', data: n });
    for (const member of members) {
      for (let n = 0; n < count; n++)
        expect(await member.next()).toEqual({ type: 'broadcast', room: 'R', name: 'Sender', data: n });
    }
    expect(arrived).toBe(count);
  });

  it('sends the broadcasts of one turn to several rooms each to its own nodes, in order', async () => {
    const [one, two, three] = [await cluster.node(), await cluster.node(), await cluster.node()];
    const onTwo = await loggedIn(two.url, 'R2', cluster.clients);
    const onThree = await loggedIn(three.url, 'R3', cluster.clients);
    const onlyS = await loggedIn(three.url, 'S3', cluster.clients);
    await join(onTwo, 'R');
    await join(onThree, 'R');
    await join(onlyS, 'S');
    expect(await onTwo.nextOf('joined')).toEqual({ type: 'joined', room: 'R', name: 'R3' });
    const host = hostOf(two);
    const original = host.roomMessage!.bind(host);
    let arrived = 0;
    host.roomMessage = (fromNode, message) => {
      arrived++;
      original(fromNode, message);
    };
    // One turn: the broadcasts share one call to the bus, its rooms interleaved.
    for (let n = 0; n < 2; n++) {
      void one.hub.broadcast('R', n);
      void one.hub.broadcast('S', n);
    }
    for (const member of [onTwo, onThree]) {
      for (let n = 0; n < 2; n++) expect(await member.next()).toEqual({ type: 'broadcast', room: 'R', data: n });
    }
    for (let n = 0; n < 2; n++) expect(await onlyS.next()).toEqual({ type: 'broadcast', room: 'S', data: n });
    // Node two holds no member of S: the last R reached it after anything sent to it before.
    expect(arrived).toBe(2);
  });

  it('answers members() and rooms() cluster-wide, from a node without members', async () => {
    const [one, two, three] = [await cluster.node(), await cluster.node(), await cluster.node()];
    const a = await loggedIn(one.url, 'A', cluster.clients);
    const b = await loggedIn(two.url, 'B', cluster.clients);
    await join(a, 'Lobby');
    await join(b, 'Lobby');
    await join(b, 'Side');
    expect(await three.hub.members('Lobby')).toEqual(['A', 'B']);
    expect((await three.hub.rooms()).sort()).toEqual(['Lobby', 'Side']);
    // room-full counts members on every node.
    const c = await loggedIn(three.url, 'C', cluster.clients);
    expect(await c.request({ type: 'join', room: 'Lobby' })).toMatchObject({ success: true, members: ['A', 'B'] });
    b.close();
    expect(await a.nextOf('parted')).toEqual({ type: 'parted', room: 'Lobby', name: 'B' });
    expect(await c.nextOf('parted')).toEqual({ type: 'parted', room: 'Lobby', name: 'B' });
    await expect.poll(() => three.hub.members('Lobby')).toEqual(['A', 'C']);
    await expect.poll(() => one.hub.rooms()).toEqual(['Lobby']);
  });

  it('keeps the rooms of a peer that resumes on another node: nobody hears parted or joined', async () => {
    const [one, two] = [await cluster.node(), await cluster.node()];
    const stay = await loggedIn(one.url, 'Stay', cluster.clients);
    const { client: mover, token } = await resumable(one.url, 'Mover', cluster.clients);
    await join(stay, 'R');
    await join(mover, 'R');
    await stay.nextOf('joined');
    const dropped = new Promise((resolve) => one.hub.once('peer-dropped', resolve));
    mover.abort();
    await dropped;
    const back = await connected(two.url, cluster.clients);
    expect(await back.login('Mover', { resume: true, token })).toMatchObject({ success: true, resumed: true });
    expect(await two.hub.members('R')).toEqual(['Stay', 'Mover']);
    // Barriers both ways: a broadcast each, nothing before it.
    await expect.poll(async () => (await one.hub.members('R')).length).toBe(2);
    back.send({ type: 'broadcast', room: 'R', data: 'from two' });
    expect(await stay.next()).toEqual({ type: 'broadcast', room: 'R', name: 'Mover', data: 'from two' });
    stay.send({ type: 'broadcast', room: 'R', data: 'from one' });
    expect(await back.next()).toEqual({ type: 'broadcast', room: 'R', name: 'Stay', data: 'from one' });
    // The move is known on node one: when the mover goes for good, its parted comes from node two.
    back.close();
    expect(await stay.next()).toEqual({ type: 'parted', room: 'R', name: 'Mover' });
    expect(await one.hub.members('R')).toEqual(['Stay']);
  });

  it('refuses a join past maxRoomMembers counted over every node', async () => {
    const [one, two] = [await cluster.node({}, { maxRoomMembers: 2 }), await cluster.node({}, { maxRoomMembers: 2 })];
    const a = await loggedIn(one.url, 'A', cluster.clients);
    const b = await loggedIn(two.url, 'B', cluster.clients);
    const c = await loggedIn(one.url, 'C', cluster.clients);
    await join(a, 'Pair');
    await join(b, 'Pair');
    expect(await c.request({ type: 'join', room: 'Pair' })).toMatchObject({ success: false, reason: 'room-full' });
  });
});

describe('rooms when a node dies (MemoryCluster)', () => {
  const nodes: HubServer[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
  });

  it('parts the members of a crashed node for everyone, and forgets them', async () => {
    const cluster = new MemoryCluster();
    const start = async (id: string) => {
      const node = await startHubServer({ backplane: cluster.backplane(id) });
      nodes.push(node);
      await node.hub.ready;
      return node;
    };
    const [one, two] = [await start('one'), await start('two')];
    const doomed = await loggedIn(one.url, 'Doomed', clients);
    const survivor = await loggedIn(two.url, 'Survivor', clients);
    await join(survivor, 'R');
    await join(doomed, 'R');
    expect(await survivor.nextOf('joined')).toEqual({ type: 'joined', room: 'R', name: 'Doomed' });
    cluster.crash('one');
    expect(await survivor.nextOf('parted')).toEqual({ type: 'parted', room: 'R', name: 'Doomed' });
    expect(await two.hub.members('R')).toEqual(['Survivor']);
    nodes.splice(nodes.indexOf(one), 1);
  });
});
