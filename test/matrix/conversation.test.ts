import { afterEach, beforeEach, expect, it } from 'vitest';
import type { TestHub } from './factory.js';
import { describeMatrix } from './matrix.js';

describeMatrix('a tutorial conversation', (factory) => {
  let hub: TestHub;
  beforeEach(async () => {
    hub = await factory.start();
  });
  afterEach(async () => {
    await hub.close();
  });

  it('logs in, relays offer/answer/candidate with the sender name, and leave', async () => {
    const a = await hub.connect('caller');
    const b = await hub.connect('callee');
    expect(await a.login('UserA')).toMatchObject({ type: 'login', success: true, name: 'UserA' });
    expect(await b.login('UserB')).toMatchObject({ type: 'login', success: true });

    a.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0' }, name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'offer', offer: { type: 'offer', sdp: 'v=0' }, name: 'UserA' });
    b.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0' }, name: 'UserA' });
    expect(await a.next()).toEqual({ type: 'answer', answer: { type: 'answer', sdp: 'v=0' }, name: 'UserB' });
    a.send({ type: 'candidate', candidate: { candidate: 'candidate:1', sdpMid: '0' }, name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: 'candidate:1', sdpMid: '0' }, name: 'UserA' });
    b.send({ type: 'candidate', candidate: { candidate: 'candidate:2', sdpMid: '0' }, name: 'UserA' });
    expect(await a.next()).toEqual({ type: 'candidate', candidate: { candidate: 'candidate:2', sdpMid: '0' }, name: 'UserB' });
    a.send({ type: 'leave', name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'leave', name: 'UserA' });
    // Nothing else arrived: no echo, no stray error.
    expect(a.inbox).toEqual([]);
    expect(b.inbox).toEqual([]);
    a.close();
    b.close();
  });

  it('keeps the order of one sender', async () => {
    const a = await hub.connect('caller');
    const b = await hub.connect('callee');
    await a.login('Sender');
    await b.login('Receiver');
    const count = 300;
    for (let i = 0; i < count; i++) a.send({ type: 'candidate', candidate: { candidate: `candidate:${i}` }, name: 'Receiver' });
    for (let i = 0; i < count; i++) {
      expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: `candidate:${i}` }, name: 'Sender' });
    }
  });

  it("delivers a host message through hub.send() to a peer, from the caller's node", async () => {
    const b = await hub.connect('callee');
    await b.login('Listener');
    expect(await hub.hub('caller').send('Listener', { type: 'notice', text: 'hello' })).toBe(true);
    expect(await b.nextOf('notice')).toEqual({ type: 'notice', text: 'hello' });
    expect(await hub.hub('caller').send('Ghost', { type: 'notice' })).toBe(false);
  });
});
