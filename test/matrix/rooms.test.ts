import { afterEach, expect, it } from 'vitest';
import type { HubOptions, RoomParted } from '../../src/index.js';
import { untilAsync } from '../helpers/cluster.js';
import type { MatrixClient, Role, TestHub, TestTransportFactory } from './factory.js';
import { describeMatrix } from './matrix.js';

/*
 * Rooms over every transport. Members alternate between the roles, so on
 * the two-node row every room spans both nodes and every frame between two
 * members may cross Redis.
 */
describeMatrix('rooms', (factory: TestTransportFactory) => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  async function start(options?: HubOptions): Promise<TestHub> {
    return (hub = await factory.start(options));
  }

  async function member(name: string, role: Role, extra?: object): Promise<MatrixClient> {
    const client = await hub!.connect(role);
    expect(await client.login(name, extra)).toMatchObject({ success: true });
    return client;
  }

  /** A barrier: a broadcast from `from` that each of `to` receives after everything `from` sent before. */
  async function barrier(from: MatrixClient, room: string, fromName: string, to: MatrixClient[]): Promise<void> {
    from.send({ type: 'broadcast', room, data: 'sentinel' });
    for (const client of to) {
      expect(await client.next()).toEqual({ type: 'broadcast', room, name: fromName, data: 'sentinel' });
    }
  }

  it('joins, lists the others in join order, announces, broadcasts to the others and parts', async () => {
    await start();
    const a = await member('A', 'caller');
    const b = await member('B', 'callee');
    const c = await member('C', 'caller');
    expect(await a.request({ type: 'join', room: 'R' })).toEqual({ type: 'join', success: true, room: 'R', members: [] });
    expect(await b.request({ type: 'join', room: 'R' })).toEqual({ type: 'join', success: true, room: 'R', members: ['A'] });
    expect(await a.next()).toEqual({ type: 'joined', room: 'R', name: 'B' });
    expect(await c.request({ type: 'join', room: 'R' })).toEqual({ type: 'join', success: true, room: 'R', members: ['A', 'B'] });
    expect(await a.next()).toEqual({ type: 'joined', room: 'R', name: 'C' });
    expect(await b.next()).toEqual({ type: 'joined', room: 'R', name: 'C' });
    // Joining twice changes nothing.
    expect(await b.request({ type: 'join', room: 'R' })).toEqual({ type: 'join', success: true, room: 'R', members: ['A', 'C'] });

    b.send({ type: 'broadcast', room: 'R', data: { text: 'hi', n: [1, 2] } });
    expect(await a.next()).toEqual({ type: 'broadcast', room: 'R', name: 'B', data: { text: 'hi', n: [1, 2] } });
    expect(await c.next()).toEqual({ type: 'broadcast', room: 'R', name: 'B', data: { text: 'hi', n: [1, 2] } });

    expect(await a.request({ type: 'part', room: 'R' })).toEqual({ type: 'part', success: true, room: 'R' });
    expect(await b.next()).toEqual({ type: 'parted', room: 'R', name: 'A' });
    expect(await c.next()).toEqual({ type: 'parted', room: 'R', name: 'A' });
    // The sender hears no echo; A, gone from the room, hears nothing more.
    await barrier(c, 'R', 'C', [b]);
    expect(a.inbox).toEqual([]);
    expect(b.inbox).toEqual([]);
    expect(c.inbox).toEqual([]);
    expect(await hub!.hub('caller').members('R')).toEqual(['B', 'C']);
    expect(await hub!.hub('callee').rooms()).toEqual(['R']);
  });

  it('answers every bad room request clearly', async () => {
    await start();
    const stranger = await hub!.connect('caller');
    expect(await stranger.request({ type: 'join', room: 'R' })).toMatchObject({
      type: 'error',
      code: 'not-logged-in',
      request: 'join',
    });
    const a = await member('A', 'caller');
    expect(await a.request({ type: 'part', room: 'R' })).toMatchObject({ type: 'error', code: 'not-in-room', request: 'part' });
    expect(await a.request({ type: 'broadcast', room: 'R', data: 1 })).toMatchObject({
      type: 'error',
      code: 'not-in-room',
      request: 'broadcast',
    });
    for (const room of ['', 'bad\u0000room', 'x'.repeat(200), 42, '\u202eevil']) {
      expect(await a.request({ type: 'join', room })).toMatchObject({ type: 'join', success: false, reason: 'invalid-room' });
    }
    expect(await a.request({ type: 'part' })).toMatchObject({ type: 'error', code: 'invalid-message', request: 'part' });
    await a.request({ type: 'join', room: 'R' });
    expect(await a.request({ type: 'broadcast', room: 'R' })).toMatchObject({ type: 'error', code: 'invalid-message' });
    // The listing is off by default: the hub answers as one without it.
    expect(await a.request({ type: 'peers' })).toMatchObject({ type: 'error', code: 'unknown-type' });
  });

  it('keeps the room limits: maxRoomsPerPeer, maxRoomMembers, maxMessageBytes', async () => {
    await start({ maxRoomsPerPeer: 2, maxRoomMembers: 2, maxMessageBytes: 1024 });
    const a = await member('A', 'caller');
    const b = await member('B', 'callee');
    const c = await member('C', 'caller');
    await a.request({ type: 'join', room: 'one' });
    await a.request({ type: 'join', room: 'two' });
    expect(await a.request({ type: 'join', room: 'three' })).toMatchObject({
      type: 'join',
      success: false,
      room: 'three',
      reason: 'too-many-rooms',
    });
    expect(await b.request({ type: 'join', room: 'one' })).toMatchObject({ success: true });
    await a.nextOf('joined');
    expect(await c.request({ type: 'join', room: 'one' })).toMatchObject({ success: false, room: 'one', reason: 'room-full' });
    // A part makes room.
    await a.request({ type: 'part', room: 'one' });
    await b.nextOf('parted');
    expect(await c.request({ type: 'join', room: 'one' })).toMatchObject({ success: true, members: ['B'] });
    await b.nextOf('joined');
    if (!factory.capabilities.frameSizeClose) {
      expect(await c.request({ type: 'broadcast', room: 'one', data: 'x'.repeat(2000) })).toMatchObject({
        code: 'message-too-large',
      });
    }
    await barrier(c, 'one', 'C', [b]);
  });

  it('asks authorizeJoin: a refusal or a throw is forbidden, a throw reported', async () => {
    const errors: Error[] = [];
    await start({
      authorizeJoin: ({ peer, room }) => {
        if (room === 'boom') return Promise.reject(new Error('hook broke'));
        if (room === 'sync-boom') throw new Error('hook broke at once');
        return Promise.resolve(room !== 'secret' || peer.name === 'Boss');
      },
    });
    hub!.on('error', (error) => errors.push(error));
    const a = await member('A', 'caller');
    const boss = await member('Boss', 'callee');
    expect(await a.request({ type: 'join', room: 'secret' })).toMatchObject({ success: false, reason: 'forbidden' });
    expect(await a.request({ type: 'join', room: 'boom' })).toMatchObject({ success: false, reason: 'forbidden' });
    expect(await a.request({ type: 'join', room: 'sync-boom' })).toMatchObject({ success: false, reason: 'forbidden' });
    expect(errors).toHaveLength(2);
    // The code, not the class: the Bun row's errors cross a process boundary.
    for (const error of errors) expect(error).toMatchObject({ code: 'SH_ERR_HOOK_FAILED' });
    expect(await boss.request({ type: 'join', room: 'secret' })).toMatchObject({ success: true });
    // A broadcast sent before the async hook decided waits for it: it is not refused not-in-room.
    await a.request({ type: 'join', room: 'open' });
    boss.send({ type: 'join', room: 'open' });
    boss.send({ type: 'broadcast', room: 'open', data: 'right after' });
    expect(await boss.next()).toMatchObject({ type: 'join', success: true, members: ['A'] });
    expect(await a.next()).toEqual({ type: 'joined', room: 'open', name: 'Boss' });
    expect(await a.next()).toEqual({ type: 'broadcast', room: 'open', name: 'Boss', data: 'right after' });
  });

  it('parts a peer that is gone from every room: the others hear parted, the host room-parted', async () => {
    await start();
    const parted: RoomParted[] = [];
    hub!.on('room-parted', (event) => parted.push(event));
    const a = await member('A', 'caller');
    const b = await member('B', 'callee');
    const c = await member('C', 'caller');
    for (const room of ['R', 'S']) {
      await a.request({ type: 'join', room });
      await b.request({ type: 'join', room });
      await a.nextOf('joined');
    }
    await c.request({ type: 'join', room: 'R' });
    await a.nextOf('joined');
    await b.nextOf('joined');
    b.close();
    expect(await a.next()).toEqual({ type: 'parted', room: 'R', name: 'B' });
    expect(await a.next()).toEqual({ type: 'parted', room: 'S', name: 'B' });
    expect(await c.next()).toEqual({ type: 'parted', room: 'R', name: 'B' });
    expect(parted).toEqual([
      { room: 'R', name: 'B', reason: 'left' },
      { room: 'S', name: 'B', reason: 'left' },
    ]);
    // Awaited: the Bun row's hub answers from its child process.
    expect(await Promise.resolve(hub!.hub('caller').disconnect('C'))).toBe(true);
    expect(await a.next()).toEqual({ type: 'parted', room: 'R', name: 'C' });
    // On two nodes the part reaches the other one through Redis, on another connection than the one the
    // callee's node reads on: no order between them, so wait (with a deadline) for its view to follow.
    await untilAsync(async () => (await hub!.hub('callee').members('R')).length === 1, "the callee node's view of R");
    expect(await hub!.hub('callee').members('R')).toEqual(['A']);
  });

  it('keeps the rooms of a resumable peer through its grace and a resume: nobody hears parted or joined', async () => {
    await start({ resumeGrace: 60_000 });
    const a = await member('A', 'caller');
    const b = await hub!.connect('callee');
    const token = (await b.login('B', { resume: true })).token as string;
    await a.request({ type: 'join', room: 'R' });
    await b.request({ type: 'join', room: 'R' });
    await a.nextOf('joined');
    const dropped = hub!.once('peer-dropped');
    b.abort();
    await dropped;
    // Held for the resume, in order.
    a.send({ type: 'broadcast', room: 'R', data: 'while away' });
    a.send({ type: 'candidate', candidate: { candidate: 'c1' }, name: 'B' });
    const back = await hub!.connect('callee');
    expect(await back.login('B', { resume: true, token })).toMatchObject({ success: true, resumed: true });
    expect(await back.next()).toEqual({ type: 'broadcast', room: 'R', name: 'A', data: 'while away' });
    expect(await back.next()).toEqual({ type: 'candidate', candidate: { candidate: 'c1' }, name: 'A' });
    await barrier(back, 'R', 'B', [a]);
    expect(a.inbox).toEqual([]);
    expect(await hub!.hub('caller').members('R')).toEqual(['A', 'B']);
  });

  it('keeps the rooms of a peer whose name is taken over with its token: nobody hears parted', async () => {
    await start();
    const a = await member('A', 'caller');
    const b = await hub!.connect('callee');
    const token = (await b.login('B')).token as string;
    await a.request({ type: 'join', room: 'R' });
    await b.request({ type: 'join', room: 'R' });
    await a.nextOf('joined');
    const again = await hub!.connect('callee');
    expect(await again.login('B', { token })).toMatchObject({ success: true, resumed: true });
    expect((await b.closed).code).toBe(4409);
    await barrier(again, 'R', 'B', [a]);
    expect(a.inbox).toEqual([]);
  });

  it('parts a dropped peer whose grace ends', async () => {
    await start({ resumeGrace: 200 });
    const a = await member('A', 'caller');
    const b = await member('B', 'callee', { resume: true });
    await a.request({ type: 'join', room: 'R' });
    await b.request({ type: 'join', room: 'R' });
    await a.nextOf('joined');
    b.abort();
    expect(await a.next(undefined, 10_000)).toEqual({ type: 'parted', room: 'R', name: 'B' });
  });

  it('keeps the order of one sender: joined, broadcasts, relays and parted', async () => {
    await start();
    const a = await member('A', 'caller');
    const b = await member('B', 'callee');
    await b.request({ type: 'join', room: 'R' });
    // On a cluster the join is decided by the bus; room messages sent meanwhile wait for it, relays do not:
    // a client mixing both waits for the join reply (as for a login).
    expect(await a.request({ type: 'join', room: 'R' })).toMatchObject({ success: true, members: ['B'] });
    const count = 50;
    for (let i = 0; i < count; i++) {
      a.send({ type: 'broadcast', room: 'R', data: i });
      a.send({ type: 'candidate', candidate: { candidate: `c${i}` }, name: 'B' });
    }
    a.send({ type: 'part', room: 'R' });
    expect(await b.next()).toEqual({ type: 'joined', room: 'R', name: 'A' });
    for (let i = 0; i < count; i++) {
      expect(await b.next()).toEqual({ type: 'broadcast', room: 'R', name: 'A', data: i });
      expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: `c${i}` }, name: 'A' });
    }
    expect(await b.next()).toEqual({ type: 'parted', room: 'R', name: 'A' });
    expect(await a.next()).toEqual({ type: 'part', success: true, room: 'R' });
    expect(a.inbox).toEqual([]);
  });

  it('lets the host join, part and broadcast, with room-joined and room-parted on the member node', async () => {
    await start();
    const a = await member('A', 'caller');
    const b = await member('B', 'callee');
    const joined = hub!.once('room-joined');
    await a.request({ type: 'join', room: 'R' });
    expect(await joined).toMatchObject({ room: 'R', peer: { name: 'A' } });
    // From the other node on the cluster row: the host reaches a peer of any node.
    expect(await hub!.hub('caller').join('B', 'R')).toBe(true);
    expect(await b.next()).toEqual({ type: 'join', success: true, room: 'R', members: ['A'] });
    expect(await a.next()).toEqual({ type: 'joined', room: 'R', name: 'B' });
    expect(await hub!.hub('caller').join('Nobody', 'R')).toBe(false);
    await hub!.hub('caller').broadcast('R', { notice: 'hello' });
    expect(await a.next()).toEqual({ type: 'broadcast', room: 'R', data: { notice: 'hello' } });
    expect(await b.next()).toEqual({ type: 'broadcast', room: 'R', data: { notice: 'hello' } });
    const parted = hub!.once('room-parted');
    expect(await hub!.hub('caller').part('B', 'R')).toBe(true);
    expect(await parted).toEqual({ room: 'R', name: 'B', reason: 'host' });
    expect(await b.next()).toEqual({ type: 'part', success: true, room: 'R' });
    expect(await a.next()).toEqual({ type: 'parted', room: 'R', name: 'B' });
    expect(await hub!.hub('caller').part('B', 'R')).toBe(false);
    expect(await hub!.hub('callee').part('Nobody', 'R')).toBe(false);
    await expect(Promise.resolve().then(() => hub!.hub('caller').join('A', ''))).rejects.toThrow(/room/);
  });

  it('lists who is online, in pages, when peerListPageSize allows it', async () => {
    await start({ peerListPageSize: 2 });
    const a = await member('p1', 'caller');
    // On the cluster row p3 is on the other node: the listing is cluster-wide.
    await member('p3', 'callee');
    await member('p2', 'caller');
    expect(await a.request({ type: 'peers' })).toEqual({ type: 'peers', names: ['p1', 'p2'], next: 'p2' });
    expect(await a.request({ type: 'peers', cursor: 'p2' })).toEqual({ type: 'peers', names: ['p3'], next: null });
    expect(await a.request({ type: 'peers', cursor: 7 })).toMatchObject({ type: 'error', code: 'invalid-message' });
  });
});
