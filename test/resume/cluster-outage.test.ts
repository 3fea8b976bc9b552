import { describe, expect, it } from 'vitest';
import { connected, loggedIn, resumable, sleep, startCall, useRedisCluster, watchHub } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';
import type { Frame, TestClient } from '../helpers/test-client.js';

/**
 * Redis stalls just as resumable peers drop from one node, and they resume
 * on the other node, retrying while the cluster answers
 * `backplane-unavailable`. CLUSTER.md's promise holds: every relay a partner
 * sent is delivered or its sender is told, and nobody hears `peer-gone` for
 * a peer that came back (#17 item 5).
 */
describe('a Redis stall while peers resume on another node', () => {
  const cluster = useRedisCluster('ro');
  const { clients } = cluster;

  it('loses no relay silently and tells nobody peer-gone for a peer that resumed', async () => {
    // Leases outlive the stall (as the defaults do a 3 s one): no node is taken for dead.
    const one = await cluster.node({ leaseTtl: 5000, heartbeatInterval: 500 });
    const two = await cluster.node({ leaseTtl: 5000, heartbeatInterval: 500 });
    const onOne = watchHub(one.hub);
    const peers = 30;
    const victims: Array<{ client: TestClient; token: string; name: string }> = [];
    const partners: TestClient[] = [];
    for (let i = 0; i < peers; i++) {
      const { client, token } = await resumable(one.url, `v${i}`, clients);
      const partner = await loggedIn(two.url, `p${i}`, clients);
      await startCall(partner, `p${i}`, client, `v${i}`);
      victims.push({ client, token, name: `v${i}` });
      partners.push(partner);
    }
    const sent = new Array<number>(peers).fill(0);
    let sending = true;
    const senders = partners.map(async (partner, i) => {
      while (sending) {
        partner.send({ type: 'candidate', candidate: { n: sent[i] }, name: `v${i}` });
        sent[i] = sent[i]! + 1;
        await sleep(40); // pacing, as a real peer's trickled candidates
      }
    });
    await until(() => sent.every((count) => count >= 5), 'the first candidates');

    cluster.redis.pause();
    // Node one closes the peers itself (4503), so nothing is written to a socket that is already gone.
    const draining = one.hub.drain();
    await until(() => onOne.dropped.length === peers, 'every drop on node one');
    const thaw = setTimeout(() => cluster.redis.resume(), 3000);
    try {
      const resumed: TestClient[] = await Promise.all(
        victims.map(async ({ token, name }) => {
          const deadline = Date.now() + 15_000;
          for (;;) {
            const back = await connected(two.url, clients);
            const reply: Frame = await back.login(name, { token, resume: true });
            if (reply.success === true) return back;
            expect(reply.reason).toBe('backplane-unavailable');
            back.close();
            if (Date.now() > deadline) throw new Error(`${name} did not resume`);
            await sleep(100);
          }
        }),
      );
      // A few more candidates after every peer is back, then the count.
      const after = sent.slice();
      await until(() => sent.every((count, i) => count >= after[i]! + 5), 'candidates after the resumes');
      sending = false;
      await Promise.all(senders);
      await draining;

      // Before the drop, to the first connection; after it, to the resumed one.
      const numbersOf = (i: number) =>
        [victims[i]!.client, resumed[i]!].flatMap((client) =>
          client.inbox
            .filter((frame) => frame.type === 'candidate' && frame.name === `p${i}`)
            .map((frame) => (frame.candidate as { n: number }).n),
        );
      const delivered = (i: number) => numbersOf(i).length;
      const told = (i: number) => partners[i]!.inbox.filter((frame) => frame.type === 'error' && frame.target === `v${i}`);
      await until(
        () => sent.every((count, i) => delivered(i) + told(i).length >= count),
        'every candidate delivered or its sender told',
        10_000,
      );
      for (let i = 0; i < peers; i++) {
        expect(
          told(i).filter((frame) => frame.code === 'peer-gone'),
          `p${i}`,
        ).toEqual([]);
        expect(delivered(i) + told(i).length, `p${i}`).toBe(sent[i]);
        expect(new Set(numbersOf(i)).size, `p${i}: no duplicates`).toBe(delivered(i));
        expect(leavesOf(partners[i]!)).toEqual([]);
      }
    } finally {
      clearTimeout(thaw);
      cluster.redis.resume();
    }
  }, 40_000);
});

const leavesOf = (client: TestClient) => client.inbox.filter((frame) => frame.type === 'leave');
