import { expect, it } from 'vitest';
import { SignallingHub } from '../../src/index.js';
import { MemoryClient } from '../helpers/memory-client.js';

it('tells congested from not-found: deliver() to a peer that stopped reading, send() still false for both', async () => {
  const hub = new SignallingHub({ maxBufferedBytes: 1024, slowConsumerTimeout: 60_000 });
  try {
    const slow = new MemoryClient(hub);
    await slow.login('slow');
    slow.pauseReading();
    const filler = { type: 'note', text: 'x'.repeat(600) };
    expect(await hub.deliver('slow', filler)).toBe('delivered');
    expect(await hub.deliver('slow', filler)).toBe('delivered');
    // Over maxBufferedBytes now: the next one is dropped, and the host knows why.
    expect(await hub.deliver('slow', filler)).toBe('congested');
    expect(await hub.send('slow', filler)).toBe(false);
    expect(await hub.deliver('nobody', filler)).toBe('not-found');
    slow.resumeReading();
    expect(await hub.deliver('slow', { type: 'note', text: 'again' })).toBe('delivered');
  } finally {
    await hub.close();
  }
});
