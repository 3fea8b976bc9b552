import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignallingClient } from '../../src/client.js';
import { until } from '../helpers/events.js';
import { CliProcess, buildCli } from '../helpers/cli-process.js';
import { RedisServer } from '../helpers/redis-server.js';
import { type TcpBalancer, startTcpBalancer } from '../helpers/tcp-balancer.js';
import { WebRtcPeers, flow } from '../resume/webrtc-peers.js';

/**
 * Two `signalling-hub --redis` processes behind a round-robin TCP balancer
 * without stickiness: a WebSocket peer and an HTTP-fallback peer (whose
 * requests land on either node) call each other, and their relays arrive in
 * order.
 */
describe('the HTTP fallback across two CLI nodes behind a non-sticky balancer', () => {
  let redis: RedisServer | undefined;
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  let balancer: TcpBalancer | undefined;
  const nodes: CliProcess[] = [];
  const peers = new WebRtcPeers();

  beforeAll(async () => {
    redis = await RedisServer.start();
    built = await buildCli();
    for (let i = 0; i < 2; i++) {
      nodes[i] = await CliProcess.start(built.script, ['--port', '0', '--host', '127.0.0.1', '--redis', redis.url]);
    }
    balancer = await startTcpBalancer(nodes.map((node) => Number(new URL(node.url).port)));
  });
  afterAll(async () => {
    await peers.dispose();
    await balancer?.close();
    await Promise.all(nodes.map((node) => node.kill()));
    await redis?.dispose();
    built?.remove();
  });

  it('a WebSocket peer and an HTTP-fallback peer complete a WebRTC call and chat', async () => {
    const ws = await peers.peer('ws-peer', balancer!.url(), { transport: 'websocket' });
    const http = await peers.peer('http-peer', balancer!.url(), { transport: 'http' });
    expect([ws.client.transport, http.client.transport]).toEqual(['websocket', 'http']);
    const link = await peers.connect(http, ws);
    const traffic = flow(link);
    await until(() => traffic.received >= 20, 'messages over the data channel', 10_000);
    await traffic.stop();
    expect([...ws.leaves, ...http.leaves, ...ws.errors, ...http.errors]).toEqual([]);
  });

  it('relays between them arrive in order both ways, whichever node each HTTP request reaches', async () => {
    const routedBefore = balancer!.routed.length;
    const viaHttp = new SignallingClient(balancer!.url(), { WebSocket, transport: 'http' });
    const viaWs = new SignallingClient(balancer!.url(), { WebSocket, transport: 'websocket' });
    try {
      await viaHttp.login('ordered-http');
      await viaWs.login('ordered-ws');
      const atWs: string[] = [];
      const atHttp: string[] = [];
      viaWs.on('offer', ({ offer }) => atWs.push(offer.sdp ?? ''));
      viaHttp.on('offer', ({ offer }) => atHttp.push(offer.sdp ?? ''));
      const numbers = Array.from({ length: 50 }, (_, i) => String(i));
      for (const n of numbers) viaHttp.offer('ordered-ws', { type: 'offer', sdp: n });
      for (const n of numbers) viaWs.offer('ordered-http', { type: 'offer', sdp: n });
      await until(() => atWs.length === 50 && atHttp.length === 50, 'every relay', 20_000);
      expect(atWs).toEqual(numbers);
      expect(atHttp).toEqual(numbers);
      // The balancer really spread the HTTP requests' connections over both nodes.
      expect(new Set(balancer!.routed.slice(routedBefore))).toEqual(new Set([0, 1]));
    } finally {
      await viaHttp.close();
      await viaWs.close();
    }
  });
});
