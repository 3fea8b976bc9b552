import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

describe('a tutorial conversation over ws', () => {
  let hub: HubServer;
  beforeEach(async () => {
    hub = await startHubServer();
  });
  afterEach(async () => {
    await hub.close();
  });

  it('logs in, relays offer/answer/candidate with the sender name, and leave', async () => {
    const a = await TestClient.connect(hub.url);
    const b = await TestClient.connect(hub.url);
    expect(await a.login('UserA')).toMatchObject({ type: 'login', success: true, name: 'UserA' });
    expect(await b.login('UserB')).toMatchObject({ type: 'login', success: true });

    a.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0' }, name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'offer', offer: { type: 'offer', sdp: 'v=0' }, name: 'UserA' });
    b.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0' }, name: 'UserA' });
    expect(await a.next()).toEqual({ type: 'answer', answer: { type: 'answer', sdp: 'v=0' }, name: 'UserB' });
    a.send({ type: 'candidate', candidate: { candidate: 'candidate:1', sdpMid: '0' }, name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: 'candidate:1', sdpMid: '0' }, name: 'UserA' });
    a.send({ type: 'leave', name: 'UserB' });
    expect(await b.next()).toEqual({ type: 'leave', name: 'UserA' });
    a.close();
    b.close();
  });
});
