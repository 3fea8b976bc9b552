import { afterEach, expect, it } from 'vitest';
import type { PeerDropped, PeerLeft } from '../../src/index.js';
import { CloseCode } from '../../src/protocol/index.js';
import type { MatrixClient, TestHub } from './factory.js';
import { describeMatrix } from './matrix.js';

/** Long enough that a name kept for the grace could never look like a goodbye within a test's deadline. */
const resumeGrace = 60_000;

/**
 * A close frame the client sends on purpose is a goodbye, whatever its code
 * (a browser's `ws.close()` sends none: the hub hears 1005): a resumable peer
 * ends at once and its partners hear `leave` at once. Only a close that means
 * to come back keeps the name for the grace: a lost connection (1006) or the
 * client's `4000 reconnecting`.
 */
describeMatrix('goodbye or blip: which closes keep a resumable name', (factory) => {
  let hub: TestHub;
  afterEach(async () => {
    await hub.close();
  });

  /** A resumable caller in a call with a callee (on the other node in the cluster). */
  async function inCall(): Promise<{ caller: MatrixClient; callee: MatrixClient; token: string }> {
    hub = await factory.start({ resumeGrace });
    const caller = await hub.connect('caller');
    const callee = await hub.connect('callee');
    const reply = await caller.login('caller', { resume: true });
    await callee.login('callee');
    caller.send({ type: 'offer', offer: {}, name: 'callee' });
    await callee.nextOf('offer');
    callee.send({ type: 'answer', answer: {}, name: 'caller' });
    await caller.nextOf('answer');
    return { caller, callee, token: reply.token as string };
  }

  it.each([
    ['no code (a plain close(): the hub hears 1005)', undefined, 1005],
    ['1000', 1000, 1000],
    ['1001', 1001, 1001],
    ['3000', 3000, 3000],
  ])('a resumable peer that closes with %s leaves at once: its partner hears leave', async (_label, code, heard) => {
    const { caller, callee } = await inCall();
    const dropped: PeerDropped[] = [];
    hub.on('peer-dropped', (event) => dropped.push(event));
    const left = hub.once('peer-left');
    caller.close(code);
    // Far within the grace: only a goodbye brings it this soon.
    expect(await callee.nextOf('leave', 5000)).toEqual({ type: 'leave', name: 'caller' });
    expect(await left).toMatchObject({ name: 'caller', reason: 'closed', code: heard });
    expect(dropped).toEqual([]);
    await hub.settled();
    // The name is free at once.
    const again = await hub.connect('callee');
    expect(await again.login('caller')).toMatchObject({ success: true });
  });

  it.each([
    ['4000 (reconnecting)', (client: MatrixClient) => client.close(CloseCode.Reconnecting), CloseCode.Reconnecting as number],
    ['no close frame (1006)', (client: MatrixClient) => client.abort(), 1006],
  ])('a resumable peer that goes with %s keeps its name: no leave, and it resumes', async (_label, go, heard) => {
    const { caller, callee, token } = await inCall();
    const left: PeerLeft[] = [];
    hub.on('peer-left', (event) => left.push(event));
    const dropped = hub.once('peer-dropped');
    go(caller);
    expect(await dropped).toMatchObject({ peer: { name: 'caller' }, code: heard });
    callee.send({ type: 'candidate', candidate: 'held', name: 'caller' });
    const back = await hub.connect('caller');
    expect(await back.login('caller', { resume: true, token })).toMatchObject({ success: true, resumed: true });
    expect(await back.nextOf('candidate')).toMatchObject({ candidate: 'held', name: 'callee' });
    // Barrier: a relay after the resume takes the path a leave at the drop would have taken, and comes after it.
    back.send({ type: 'candidate', candidate: 'sentinel', name: 'callee' });
    expect(await callee.nextOf('candidate')).toMatchObject({ candidate: 'sentinel', name: 'caller' });
    expect(callee.inbox.filter((frame) => frame.type === 'leave')).toEqual([]);
    expect(left).toEqual([]);
  });
});
