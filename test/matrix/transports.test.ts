import { afterEach, expect, it } from 'vitest';
import type { TestHub } from './factory.js';
import { describeMatrix } from './matrix.js';

/** Each factory builds what its name says: otherwise two rows of the matrix could test one thing twice. */
describeMatrix('the transport under test', (factory) => {
  let hub: TestHub;
  afterEach(async () => {
    await hub.close();
  });

  it('puts callers and callees on the nodes its capabilities promise', async () => {
    hub = await factory.start();
    expect(hub.hubs).toHaveLength(factory.capabilities.nodes);
    const caller = await hub.connect('caller');
    const callee = await hub.connect('callee');
    await caller.login('on-caller-node');
    await callee.login('on-callee-node');
    expect(hub.hub('caller').getPeer('on-caller-node')).toBeDefined();
    expect(hub.hub('callee').getPeer('on-callee-node')).toBeDefined();
    if (factory.capabilities.nodes === 2) {
      // Two nodes: neither sees the other's peer locally, so every caller-callee relay crosses Redis.
      expect(hub.hub('caller').getPeer('on-callee-node')).toBeUndefined();
      expect(hub.hub('callee').getPeer('on-caller-node')).toBeUndefined();
    }
    expect(hub.transports).toHaveLength(2);
  });

  it('reads frames the way it says', async () => {
    hub = await factory.start();
    const client = await hub.connect();
    await client.login('reader');
    const [transport] = hub.transports;
    // The ws transport keeps ws's socket; its private receiver is where the fast frame reader plugs in.
    const socket = (transport as unknown as { socket?: { _receiver?: object } }).socket;
    const reader = factory.capabilities.frameReader;
    if (reader === undefined) {
      // The core alone: no socket, no frame reader (frames are handed to session.receive() directly).
      expect(socket).toBeUndefined();
      return;
    }
    expect(socket?._receiver).toBeDefined();
    // readFramesFast() replaces the receiver's inherited write() with its own, on this receiver only.
    expect(Object.hasOwn(socket!._receiver!, 'write')).toBe(reader === 'fast');
  });
});
