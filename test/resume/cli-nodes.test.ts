import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignallingClient } from '../../src/client.js';
import { nextEvent, until } from '../helpers/events.js';
import { CliProcess, buildCli } from '../helpers/cli-process.js';
import { RedisServer, freePort } from '../helpers/redis-server.js';
import { type TcpBalancer, startTcpBalancer } from '../helpers/tcp-balancer.js';
import { type CallPeer, WebRtcPeers, flow, logLines, restartIce, restarted, ufrag } from './webrtc-peers.js';

/**
 * Two `signalling-hub --redis` processes behind a round-robin TCP balancer,
 * peers in real WebRTC calls across them: a drop on one node resumes on the
 * other, and a rolling restart (drain one, restart it, drain the other)
 * loses no call.
 */
describe('calls survive drops and a rolling restart across two CLI nodes on one Redis', () => {
  let redis: RedisServer | undefined;
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  let balancer: TcpBalancer | undefined;
  /** The running process of each backend, by index. */
  const nodes: CliProcess[] = [];
  const ports: number[] = [];
  const every: CliProcess[] = [];
  const peers = new WebRtcPeers();

  async function startNode(port: number): Promise<CliProcess> {
    const node = await CliProcess.start(built!.script, [
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--redis',
      redis!.url,
      '--resume-grace',
      '10000',
      '--log-format',
      'json',
    ]);
    every.push(node);
    return node;
  }

  beforeAll(async () => {
    const [server, build] = await Promise.allSettled([RedisServer.start(), buildCli()]);
    if (server.status === 'fulfilled') redis = server.value;
    if (build.status === 'fulfilled') built = build.value;
    if (server.status === 'rejected') throw server.reason;
    if (build.status === 'rejected') throw build.reason;
    for (let i = 0; i < 2; i++) {
      nodes[i] = await startNode(0);
      ports[i] = Number(new URL(nodes[i]!.url).port);
    }
    balancer = await startTcpBalancer(ports);
  });
  afterEach(async () => {
    await peers.closeAll();
  });
  afterAll(async () => {
    await peers.dispose();
    await balancer?.close();
    await Promise.all(every.map((node) => node.kill()));
    await redis?.dispose();
    built?.remove();
  });

  /** A peer whose connection the balancer sends to backend `backend`. */
  async function peerOn(backend: number, name: string, reconnectDelay = 300): Promise<CallPeer> {
    balancer!.next = backend;
    const before = balancer!.routed.length;
    const peer = await peers.peer(name, balancer!.url(), {
      reconnectDelay,
      maxReconnectDelay: Math.max(1000, reconnectDelay),
      drainReconnectWindow: 1000,
    });
    expect(balancer!.routed.slice(before)).toEqual([backend]);
    return peer;
  }

  /** The names `node` logged as resumed from another node. */
  function resumedFromElsewhere(node: CliProcess): string[] {
    return logLines(node)
      .filter((line) => line.msg === 'peer resumed' && line.from !== 'this node')
      .map((line) => line.name as string);
  }

  it('a drop on node 1: the resume lands on node 2, with the relay held meanwhile, and the partner hears nothing', async () => {
    // alice comes back after 1 to 2 s: long enough a gap to act in.
    const alice = await peerOn(0, 'alice', 2000);
    const bob = await peerOn(1, 'bob');
    const link = await peers.connect(alice, bob);
    const traffic = flow(link);
    await until(() => traffic.received >= 4, 'data flowing over the call before the drop');

    // The next connection goes to node 2; alice's connection to node 1 drops.
    balancer!.next = 1;
    balancer!.drop(0);
    await until(() => alice.client.state === 'reconnecting', 'alice to notice');
    await until(
      () => logLines(nodes[0]!).some((line) => line.msg === 'peer dropped, may resume' && line.name === 'alice'),
      'node 1 to hold alice',
    );
    // In the gap bob (on node 2) restarts ICE: node 1 holds his offer for alice.
    const atBob = bob.calls.get('alice')!;
    const atAlice = alice.calls.get('bob')!;
    const before = [ufrag(atBob.localDescription), ufrag(atAlice.localDescription)];
    expect(bob.calls.restartIce('alice')).toBe(true);
    await until(() => atBob.signalingState === 'have-local-offer', 'the restart offer');
    // Sent in the gap; alice's log below shows it reached her only after her resume ('login resumed', 'offer bob').
    expect(alice.client.state).toBe('reconnecting');

    await until(() => resumedFromElsewhere(nodes[1]!).includes('alice'), 'alice to resume on node 2', 15_000);
    await until(() => restarted(atBob, atAlice, before), 'the held ICE restart to complete', 20_000);
    expect(alice.log).toEqual(['login fresh', 'answer bob', 'close 1006', 'login resumed', 'offer bob']);
    // And one more, from alice, now that both are on node 2.
    await restartIce(alice, bob);
    const afterRestart = traffic.received;
    await until(() => traffic.received >= afterRestart + 4, 'data flowing after the last ICE restart');
    await traffic.stop();
    expect([...alice.leaves, ...bob.leaves]).toEqual([]);
    expect([...alice.closed, ...bob.closed]).toEqual([]);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  }, 60_000);

  it('rolling restart: SIGTERM node 1, restart it, SIGTERM node 2; calls on both keep flowing, resume on the other node, restart ICE through the hub, and nobody hears leave', async () => {
    // p1 and p3 on node 1, p2 and p4 on node 2: both calls cross the nodes.
    const p1 = await peerOn(0, 'p1');
    const p2 = await peerOn(1, 'p2');
    const p3 = await peerOn(0, 'p3');
    const p4 = await peerOn(1, 'p4');
    const all = [p1, p2, p3, p4];
    const calls = [await peers.connect(p1, p2), await peers.connect(p3, p4)];
    const traffic = calls.map((link) => flow(link));
    await until(() => traffic.every((running) => running.received >= 4), 'data flowing over both calls');

    // 1. Node 1 drains: its peers are told 4503, resume on node 2, and node 1 exits once they did.
    nodes[0]!.child.kill('SIGTERM');
    expect((await nodes[0]!.exited).code).toBe(0);
    await until(() => ['p1', 'p3'].every((name) => resumedFromElsewhere(nodes[1]!).includes(name)), 'p1, p3 on node 2', 20_000);
    await until(() => all.every((peer) => peer.client.state === 'logged-in'), 'everyone logged in');
    // Told 4503; an attempt the balancer sent back to the draining node was refused (503: the client sees 1006).
    for (const peer of [p1, p3]) {
      const closes = peer.log.filter((line) => line.startsWith('close'));
      expect(closes[0]).toBe('close 4503');
      expect(closes.slice(1).every((line) => line === 'close 1006')).toBe(true);
    }
    await restartIce(p1, p2);
    await restartIce(p4, p3);

    // 2. Node 1 comes back on its port; 3. node 2 drains: everyone resumes on node 1.
    nodes[0] = await startNode(ports[0]!);
    nodes[1]!.child.kill('SIGTERM');
    expect((await nodes[1]!.exited).code).toBe(0);
    await until(
      () => ['p1', 'p2', 'p3', 'p4'].every((name) => resumedFromElsewhere(nodes[0]!).includes(name)),
      'everyone on node 1',
      20_000,
    );
    await until(() => all.every((peer) => peer.client.state === 'logged-in'), 'everyone logged in');
    // Each was told 4503 once per drain of its node, and resumed as often.
    for (const peer of all) {
      const drains = peer === p1 || peer === p3 ? 2 : 1;
      expect(peer.log.filter((line) => line === 'close 4503')).toHaveLength(drains);
      expect(peer.log.filter((line) => line === 'login resumed')).toHaveLength(drains);
    }
    await restartIce(p2, p1);
    await restartIce(p3, p4);

    const afterRestarts = traffic.map((running) => running.received);
    await until(
      () => traffic.every((running, i) => running.received >= afterRestarts[i]! + 4),
      'data flowing over both calls after the ICE restarts',
    );
    for (const running of traffic) await running.stop();
    for (const peer of all) {
      expect(peer.leaves).toEqual([]);
      expect(peer.closed).toEqual([]);
      expect(peer.errors).toEqual([]);
    }
    for (const link of calls) expect([link.outgoing.readyState, link.incoming.readyState]).toEqual(['open', 'open']);
    // Node 2 is back for whatever runs next.
    nodes[1] = await startNode(ports[1]!);
  }, 120_000);

  it('a client given several URLs: login() skips one that refuses; after a drain it resumes on the next, after a delay within drainReconnectWindow', async () => {
    const nowhere = `ws://127.0.0.1:${await freePort()}/`;
    const carol = new SignallingClient([nowhere, nodes[0]!.url, nodes[1]!.url], {
      WebSocket,
      random: () => 0.5,
      drainReconnectWindow: 1000,
    });
    const dave = new SignallingClient(nodes[1]!.url, { WebSocket });
    try {
      await carol.login('carol');
      expect(carol.url).toBe(nodes[0]!.url);
      await dave.login('dave');
      carol.offer('dave', { type: 'offer', sdp: 'v=0 carol' });
      await nextEvent(dave, 'offer');
      dave.answer('carol', { type: 'answer', sdp: 'v=0 dave' });
      await nextEvent(carol, 'answer');
      const leaves: string[] = [];
      dave.on('leave', ({ from }) => leaves.push(from));
      const heard: string[] = [];
      carol.on('login', ({ resumed }) => heard.push(`login ${resumed}`));
      carol.on('offer', ({ offer }) => heard.push(`offer ${offer.sdp}`));

      const closed = nextEvent(carol, 'close', 10_000);
      const reconnecting = nextEvent(carol, 'reconnecting', 10_000);
      nodes[0]!.child.kill('SIGTERM');
      expect(await closed).toMatchObject({ code: 4503, reconnecting: true });
      // Half the window, as random() says: the drained node's clients spread over it.
      expect(await reconnecting).toEqual({ attempt: 1, delay: 500 });
      expect(carol.url).toBe(nodes[1]!.url);
      // In the gap dave renegotiates: the offer is held for carol and follows her to node 2.
      dave.offer('carol', { type: 'offer', sdp: 'v=0 in the gap' });
      expect((await nodes[0]!.exited).code).toBe(0);
      await until(() => heard.length >= 2, 'carol to resume and get the held offer', 15_000);
      expect(heard).toEqual(['login true', 'offer v=0 in the gap']);
      expect(resumedFromElsewhere(nodes[1]!)).toContain('carol');
      expect(leaves).toEqual([]);
    } finally {
      await carol.close();
      await dave.close();
      nodes[0] = await startNode(ports[0]!);
    }
  }, 60_000);
});
