import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Frame } from '../helpers/test-client.js';
import type { MatrixClient, TestHub } from './factory.js';
import { describeMatrix } from './matrix.js';

const leaves = (client: MatrixClient) => client.inbox.filter((frame: Frame) => frame.type === 'leave');

/** Who hears `leave` when a connection closes: the close-handler cases the tutorial server crashes on. */
describeMatrix('call bookkeeping and the close handler', (factory) => {
  let hub: TestHub;
  let caller: MatrixClient;
  let callee: MatrixClient;
  beforeEach(async () => {
    hub = await factory.start();
    caller = await hub.connect('caller');
    callee = await hub.connect('callee');
    await caller.login('caller');
    await callee.login('callee');
  });
  afterEach(async () => {
    await hub.close();
  });

  /**
   * Closes `caller` and waits until nothing it could cause is still on the way to `callee`: once
   * `peer-left` is out (partners are told `leave` before it, in the same turn), a relay from a
   * new peer on the caller's node takes the same path to the callee, so any `leave` arrives before it.
   */
  async function closeCallerThenBarrier(): Promise<void> {
    const left = hub.once('peer-left');
    caller.close();
    expect(await left).toMatchObject({ name: 'caller' });
    const sentinel = await hub.connect('caller');
    expect(await sentinel.login('sentinel')).toMatchObject({ success: true });
    sentinel.send({ type: 'candidate', candidate: { sentinel: true }, name: 'callee' });
    expect(await callee.next((frame) => frame.type === 'candidate' && frame.name === 'sentinel')).toMatchObject({
      candidate: { sentinel: true },
    });
  }

  it('tells the callee leave when the caller closes after an offer', async () => {
    caller.send({ type: 'offer', offer: {}, name: 'callee' });
    await callee.nextOf('offer');
    caller.close();
    expect(await callee.nextOf('leave')).toEqual({ type: 'leave', name: 'caller' });
  });

  it('tells the callee leave when the caller drops without a close handshake', async () => {
    caller.send({ type: 'offer', offer: {}, name: 'callee' });
    await callee.nextOf('offer');
    caller.abort();
    expect(await callee.nextOf('leave')).toEqual({ type: 'leave', name: 'caller' });
  });

  it('tells the caller leave when the callee closes after answering', async () => {
    caller.send({ type: 'offer', offer: {}, name: 'callee' });
    await callee.nextOf('offer');
    callee.send({ type: 'answer', answer: {}, name: 'caller' });
    await caller.nextOf('answer');
    callee.close();
    expect(await caller.nextOf('leave')).toEqual({ type: 'leave', name: 'callee' });
  });

  it('survives a caller closing after its callee already left (a tutorial crash)', async () => {
    caller.send({ type: 'offer', offer: {}, name: 'callee' });
    await callee.nextOf('offer');
    callee.close();
    expect(await caller.nextOf('leave')).toMatchObject({ name: 'callee' });
    caller.close();
    await caller.closed;
    const gone = hub.once('peer-left');
    if (hub.getPeer('caller') !== undefined) await gone;
    await hub.settled();
    // The hub still serves newcomers, and both names are free.
    const next = await hub.connect('callee');
    expect(await next.login('callee')).toMatchObject({ success: true });
    expect(await next.login('callee')).toMatchObject({ success: true });
    const other = await hub.connect('caller');
    expect(await other.login('caller')).toMatchObject({ success: true });
  });

  it('sends no leave after an explicit leave ended the call', async () => {
    caller.send({ type: 'offer', offer: {}, name: 'callee' });
    await callee.nextOf('offer');
    caller.send({ type: 'leave', name: 'callee' });
    await callee.nextOf('leave');
    await closeCallerThenBarrier();
    expect(leaves(callee)).toEqual([]);
  });

  it('sends no leave to peers that only exchanged candidates', async () => {
    caller.send({ type: 'candidate', candidate: {}, name: 'callee' });
    await callee.nextOf('candidate');
    await closeCallerThenBarrier();
    expect(leaves(callee)).toEqual([]);
  });

  it('tells every partner of a peer in several calls', async () => {
    const third = await hub.connect('callee');
    await third.login('third');
    caller.send({ type: 'offer', offer: {}, name: 'callee' });
    third.send({ type: 'offer', offer: {}, name: 'caller' });
    await callee.nextOf('offer');
    await caller.nextOf('offer');
    caller.close();
    expect(await callee.nextOf('leave')).toMatchObject({ name: 'caller' });
    expect(await third.nextOf('leave')).toMatchObject({ name: 'caller' });
  });

  it('delivers leave to a peer that then leaves itself without errors', async () => {
    caller.send({ type: 'offer', offer: {}, name: 'callee' });
    await callee.nextOf('offer');
    caller.close();
    await callee.nextOf('leave');
    expect(await callee.request({ type: 'leave', name: 'caller' })).toMatchObject({
      type: 'error',
      code: 'peer-not-found',
      target: 'caller',
    });
  });
});
