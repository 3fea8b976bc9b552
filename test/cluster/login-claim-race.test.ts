import { expect, it } from 'vitest';
import type { Envelope } from '../../src/index.js';
import { clusterSuite, connected, hostOf, loggedIn } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';

/**
 * A login on another node whose claim is made in the cluster but whose answer has not reached its
 * node yet: another node's relays already go there. They must wait for the login (after its reply),
 * not be dropped while the sender hears they were delivered.
 */
clusterSuite('relays to a login whose claim is on its way back', 'lc', (cluster) => {
  const { clients } = cluster;

  it('holds them for the login and delivers them right after its reply, in order', async () => {
    const one = await cluster.node();
    const two = await cluster.node();
    const a = await loggedIn(one.url, 'a', clients);
    // Node two hears of its claim of `b` only once a relay to `b` has reached it.
    const host = hostOf(two);
    const deliver = host.deliver.bind(host);
    let arrived = false;
    host.deliver = (envelope: Envelope) => {
      const result = deliver(envelope);
      if (envelope.to === 'b') arrived = true;
      return result;
    };
    const backplane = two.hub.options.backplane as unknown as { claim(name: string, id: string): Promise<unknown> };
    const claim = backplane.claim.bind(backplane);
    backplane.claim = async (name, id) => {
      const result = await claim(name, id);
      if (name === 'b') await until(() => arrived, 'a relay to b on node two', 10_000);
      return result;
    };
    const b = await connected(two.url, clients);
    b.send({ type: 'login', name: 'b' });
    // One candidate at a time, each answered peer-not-found (no claim yet) or reaching node two.
    let sent = 0;
    const notFound = () => a.inbox.filter((frame) => frame.type === 'error' && frame.target === 'b').length;
    while (!arrived && sent < 2000) {
      a.send({ type: 'candidate', candidate: { n: sent++ }, name: 'b' });
      await until(() => arrived || notFound() === sent, `candidate ${sent - 1} answered or arrived`);
    }
    expect(arrived).toBe(true);
    expect(await b.next()).toMatchObject({ type: 'login', success: true, name: 'b' });
    const delivered = sent - notFound();
    expect(delivered).toBeGreaterThan(0);
    // Those that reached node two come right after the login reply, in the order sent.
    for (let i = 0; i < delivered; i++) {
      expect(await b.next()).toEqual({ type: 'candidate', candidate: { n: notFound() + i }, name: 'a' });
    }
    // And the next one goes straight through.
    a.send({ type: 'candidate', candidate: 'after', name: 'b' });
    expect(await b.next()).toEqual({ type: 'candidate', candidate: 'after', name: 'a' });
  });
});
