import { afterEach, expect, it } from 'vitest';
import type { Frame } from '../helpers/test-client.js';
import type { MatrixClient, TestHub } from './factory.js';
import { describeMatrix } from './matrix.js';

const resumeMaxBytes = 2048;
const floodPerSender = 150;

/**
 * A dropped peer holds relays within `resumeMaxMessages`/`resumeMaxBytes`;
 * a `leave` is held outside them only from a call partner, one per sender.
 * A flood of `leave`s from peers that are not its partners holds nothing, on
 * its node or arriving from another one.
 */
describeMatrix('leaves held for a dropped peer stay bounded', (factory) => {
  let hub: TestHub;
  afterEach(async () => {
    await hub.close();
  });

  it('holds one leave per real partner, in order with its relays, and none from the flood', async () => {
    hub = await factory.start({ resumeGrace: 60_000, resumeMaxBytes, resumeMaxMessages: 16 });
    const victim = await hub.connect('caller');
    const reply = await victim.login('victim', { resume: true });
    const watch = await hub.connect('caller');
    await watch.login('watch');
    // Partners on the victim's node and (in the cluster) on the other one.
    const near = await hub.connect('caller');
    await near.login('near');
    const far = await hub.connect('callee');
    await far.login('far');
    for (const partner of [near, far]) {
      const name = partner === near ? 'near' : 'far';
      victim.send({ type: 'offer', offer: {}, name });
      await partner.nextOf('offer');
      partner.send({ type: 'answer', answer: {}, name: 'victim' });
      await victim.nextOf('answer');
    }
    const flooders: Array<[string, MatrixClient]> = [];
    for (const [name, role] of [
      ['f1', 'caller'],
      ['f2', 'caller'],
      ['f3', 'callee'],
    ] as const) {
      const client = await hub.connect(role);
      await client.login(name);
      flooders.push([name, client]);
    }

    const dropped = hub.once('peer-dropped');
    victim.abort();
    await dropped;

    for (const [name, partner] of [
      ['near', near],
      ['far', far],
    ] as const) {
      partner.send({ type: 'candidate', candidate: `${name}-1`, name: 'victim' });
      partner.send({ type: 'leave', name: 'victim' });
      // A second leave from the same sender ends no call: not held again.
      partner.send({ type: 'leave', name: 'victim' });
      partner.send({ type: 'candidate', candidate: `${name}-2`, name: 'victim' });
    }
    for (const [name, client] of flooders) {
      for (let i = 0; i < floodPerSender; i++) client.send({ type: 'leave', name: 'victim' });
      client.send({ type: 'candidate', candidate: `${name}-done`, name: 'victim' });
    }
    // Barrier: each sender's frames reach the victim's node in order (through Redis too: in order
    // per sender), so once its relay to `watch` (on that node) arrives, all it sent before was handled.
    const senders: Array<[string, MatrixClient]> = [['near', near], ['far', far], ...flooders];
    for (const [, client] of senders) client.send({ type: 'candidate', candidate: 'barrier', name: 'watch' });
    for (const [name] of senders) await watch.next((frame) => frame.candidate === 'barrier' && frame.name === name);

    // Within the bounds, plus one leave from each of the two partners.
    const held = (await hub.stats('caller')).heldBytes;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(resumeMaxBytes + 2 * 64);

    const back = await hub.connect('caller');
    expect(await back.login('victim', { resume: true, token: reply.token })).toMatchObject({ success: true, resumed: true });
    // A relay after the resume, from each sender, comes after anything held for it.
    for (const [, client] of senders) client.send({ type: 'candidate', candidate: 'after', name: 'victim' });
    const seen: Frame[] = [];
    for (let after = 0; after < senders.length;) {
      const frame = await back.next();
      seen.push(frame);
      if (frame.candidate === 'after') after++;
    }
    expect((await hub.stats('caller')).heldBytes).toBe(0);

    const from = (name: string) =>
      seen.filter((frame) => frame.name === name).map((frame) => (frame.type === 'leave' ? 'leave' : frame.candidate));
    expect(from('near')).toEqual(['near-1', 'leave', 'near-2', 'after']);
    expect(from('far')).toEqual(['far-1', 'leave', 'far-2', 'after']);
    for (const [name] of flooders) expect(from(name)).toEqual([`${name}-done`, 'after']);
  });
});
