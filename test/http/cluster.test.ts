import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { BackplaneError } from '../../src/index.js';
import { RedisBackplane } from '../../src/redis.js';
import { nodeOfSession } from '../../src/transports/http/session-id.js';
import { redisClusterHarness, useRedisCluster } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.js';
import { TestClient } from '../helpers/test-client.js';

/*
 * The HTTP fallback behind a round-robin TCP balancer without stickiness:
 * every request goes on a fresh connection (no keep-alive), so consecutive
 * requests land on alternate nodes, and those that reach the node without the
 * session are forwarded through the Redis backplane to the one holding it.
 */

const SECRET = 'x-signalling-secret';
const POLL_TIMEOUT = 1000;

interface Answer {
  status: number;
  body: string;
}

/** One HTTP request on a new TCP connection (`agent: false`, `Connection: close`). */
function send(
  port: number,
  method: string,
  query: Record<string, string | number>,
  headers: Record<string, string> = {},
  body?: string,
) {
  const search = new URLSearchParams({ transport: 'http' });
  for (const [key, value] of Object.entries(query)) search.set(key, String(value));
  return new Promise<Answer>((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `/?${search.toString()}`,
        agent: false,
        headers: { connection: 'close', ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

type Frame = Record<string, unknown> & { type?: string };

/** An HTTP-fallback peer made of raw requests through the balancer. */
class BalancedHttpPeer {
  seq = 0;
  lastId = 0;
  readonly frames: Frame[] = [];
  private constructor(
    readonly port: number,
    readonly session: string,
    readonly secret: string,
  ) {}

  static async create(port: number): Promise<BalancedHttpPeer> {
    const answer = await send(port, 'POST', {});
    expect(answer.status).toBe(201);
    const info = JSON.parse(answer.body) as { session: string; secret: string };
    return new BalancedHttpPeer(port, info.session, info.secret);
  }

  post(frames: readonly object[], seq = ++this.seq, secret = this.secret): Promise<Answer> {
    const body = JSON.stringify(frames.map((frame) => JSON.stringify(frame)));
    return send(
      this.port,
      'POST',
      { session: this.session, seq },
      { [SECRET]: secret, 'content-type': 'application/json' },
      body,
    );
  }

  async poll(secret = this.secret): Promise<Answer> {
    const answer = await send(this.port, 'GET', { session: this.session, poll: 1, ack: this.lastId }, { [SECRET]: secret });
    if (answer.status === 200 && secret === this.secret) {
      for (const entry of JSON.parse(answer.body) as Array<{ id: number; event?: string; data: string }>) {
        if (entry.id <= this.lastId) continue;
        this.lastId = entry.id;
        if (entry.event === undefined) this.frames.push(JSON.parse(entry.data) as Frame);
      }
    }
    return answer;
  }

  /** Polls (at most `rounds` times) until a frame matching `match` has arrived; returns it. */
  async pollFor(match: (frame: Frame) => boolean, rounds = 20): Promise<Frame> {
    for (let round = 0; round < rounds; round++) {
      const found = this.frames.find(match);
      if (found !== undefined) {
        this.frames.splice(this.frames.indexOf(found), 1);
        return found;
      }
      expect((await this.poll()).status).toBe(200);
    }
    const found = this.frames.find(match);
    if (found === undefined) throw new Error(`no matching frame in ${rounds} polls`);
    this.frames.splice(this.frames.indexOf(found), 1);
    return found;
  }

  delete(secret = this.secret): Promise<Answer> {
    return send(this.port, 'DELETE', { session: this.session, code: 1000 }, { [SECRET]: secret });
  }
}

/** Where the backplane's Redis is: one `redis-server`, or a Redis Cluster (keys in one slot, sharded pub/sub). */
const flavours = [
  {
    title: 'Redis',
    use: () => {
      const cluster = useRedisCluster('httpcluster');
      return { nodes: cluster.nodes, redis: () => ({ url: cluster.redis.url, keyPrefix: cluster.prefix }) };
    },
  },
  {
    title: 'a Redis Cluster',
    use: () => {
      const cluster = redisClusterHarness('httpcluster');
      return { nodes: cluster.nodes, redis: () => ({ clusterUrls: cluster.redis.urls, keyPrefix: cluster.prefix }) };
    },
  },
];

describe.each(flavours)('HTTP fallback across nodes ($title backplane, non-sticky balancer)', ({ use }) => {
  const cluster = use();
  let balancer: TcpBalancer | undefined;
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await balancer?.close();
    balancer = undefined;
  });

  async function twoNodes(): Promise<[HubServer, HubServer]> {
    const started: HubServer[] = [];
    for (const nodeId of ['node-a', 'node-b']) {
      const node = await startHubServer(
        {
          backplane: new RedisBackplane({
            ...cluster.redis(),
            nodeId,
            leaseTtl: 1500,
            heartbeatInterval: 250,
          }),
        },
        { httpFallback: { pollTimeout: POLL_TIMEOUT } },
      );
      cluster.nodes.push(node);
      await node.hub.ready;
      started.push(node);
    }
    balancer = await startTcpBalancer([started[0]!.port, started[1]!.port]);
    return [started[0]!, started[1]!];
  }

  async function wsPeer(node: HubServer, name: string): Promise<TestClient> {
    const client = await TestClient.connect(node.url);
    clients.push(client);
    expect(await client.login(name)).toMatchObject({ type: 'login', success: true });
    return client;
  }

  it.each([0, 1])('a call between a WebSocket peer on node %i and an HTTP peer completes, relays in order', async (wsNode) => {
    const nodes = await twoNodes();
    const ws = await wsPeer(nodes[wsNode]!, 'ws');
    const first = balancer!.routed.length;
    const web = await BalancedHttpPeer.create(balancer!.port);

    expect((await web.post([{ type: 'login', name: 'web' }])).status).toBe(204);
    expect(await web.pollFor((frame) => frame.type === 'login')).toMatchObject({ success: true, name: 'web' });

    // Offer from the HTTP peer, answer from the WebSocket peer.
    expect((await web.post([{ type: 'offer', offer: { type: 'offer', sdp: 'v=0 web' }, name: 'ws' }])).status).toBe(204);
    expect(await ws.nextOf('offer')).toMatchObject({ name: 'web', offer: { sdp: 'v=0 web' } });
    ws.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 ws' }, name: 'web' });
    expect(await web.pollFor((frame) => frame.type === 'answer')).toMatchObject({ name: 'ws', answer: { sdp: 'v=0 ws' } });

    // Candidates both ways: 50 numbered ones from the HTTP peer, posted 5 at a time (out of order on the wire).
    const received: number[] = [];
    const arrived = new Promise<void>((resolve, reject) => {
      const take = (): void => {
        ws.nextOf('candidate').then((frame) => {
          received.push((frame.candidate as { sdpMLineIndex: number }).sdpMLineIndex);
          if (received.length === 50) resolve();
          else take();
        }, reject);
      };
      take();
    });
    for (let batch = 0; batch < 10; batch++) {
      const posts = [];
      for (let i = 0; i < 5; i++) {
        const n = batch * 5 + i;
        posts.push(web.post([{ type: 'candidate', candidate: { candidate: `c${n}`, sdpMLineIndex: n }, name: 'ws' }]));
      }
      for (const answer of await Promise.all(posts)) expect([202, 204]).toContain(answer.status);
    }
    await arrived;
    expect(received).toEqual(Array.from({ length: 50 }, (_, n) => n));

    for (let n = 0; n < 5; n++) ws.send({ type: 'candidate', candidate: { candidate: `w${n}`, sdpMLineIndex: n }, name: 'web' });
    const fromWs: number[] = [];
    for (let n = 0; n < 5; n++) {
      const frame = await web.pollFor((candidate) => candidate.type === 'candidate');
      expect(frame.name).toBe('ws');
      fromWs.push((frame.candidate as { sdpMLineIndex: number }).sdpMLineIndex);
    }
    expect(fromWs).toEqual([0, 1, 2, 3, 4]);

    // The goodbye may land on either node too: the WebSocket peer hears leave.
    expect((await web.delete()).status).toBe(204);
    expect(await ws.nextOf('leave')).toMatchObject({ name: 'web' });

    // The requests really alternated: both nodes took some, so some were forwarded.
    const routed = balancer!.routed.slice(first);
    expect(routed.length).toBeGreaterThanOrEqual(55);
    expect(routed).toContain(0);
    expect(routed).toContain(1);
    expect(routed).not.toContain(-1);
  });

  it('a forwarded request with a wrong secret is refused (403) and delivers nothing', async () => {
    const nodes = await twoNodes();
    const ws = await wsPeer(nodes[0], 'ws');
    const web = await BalancedHttpPeer.create(balancer!.port);
    const owner = nodeOfSession(web.session);
    expect(['node-a', 'node-b']).toContain(owner);
    const other = owner === 'node-a' ? 1 : 0;
    const errors: Error[] = [];
    for (const node of nodes) node.hub.on('error', (error) => errors.push(error));

    balancer!.next = other;
    expect((await web.post([{ type: 'login', name: 'web' }])).status).toBe(204);
    balancer!.next = other;
    expect(await web.pollFor((frame) => frame.type === 'login', 1)).toMatchObject({ success: true });

    const wrong = `${web.secret.slice(0, -1)}${web.secret.endsWith('A') ? 'B' : 'A'}`;
    balancer!.next = other;
    const refused = await web.post([{ type: 'offer', offer: { type: 'offer', sdp: 'v=0 forged' }, name: 'ws' }], 2, wrong);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'forbidden' });
    balancer!.next = other;
    expect((await web.poll(wrong)).status).toBe(403);
    balancer!.next = other;
    expect((await web.delete(wrong)).status).toBe(403);

    // seq 2 is still free: the real one is delivered, and it is the first thing the WebSocket peer gets.
    balancer!.next = other;
    expect((await web.post([{ type: 'offer', offer: { type: 'offer', sdp: 'v=0 real' }, name: 'ws' }], 2)).status).toBe(204);
    expect(await ws.next()).toMatchObject({ type: 'offer', name: 'web', offer: { sdp: 'v=0 real' } });

    // An unknown session on the other node is not found, through the forwarding too.
    balancer!.next = other;
    const forged = `${web.session.slice(0, web.session.indexOf('.') + 1)}${'A'.repeat(22)}`;
    expect((await send(balancer!.port, 'GET', { session: forged, poll: 1 }, { [SECRET]: web.secret })).status).toBe(404);
    expect(errors).toEqual([]);
  });

  it('a malformed forwarded request is reported as a BackplaneError and ignored', async () => {
    const nodes = await twoNodes();
    const errors: Error[] = [];
    nodes[1].hub.on('error', (error) => errors.push(error));
    const backplane = nodes[0].hub.options.backplane as RedisBackplane;
    const answer = await backplane.sendToNode(
      'node-b',
      `http-fallback:${encodeURIComponent('/')}`,
      '{"m":"PUT","q":"session=x"}',
    );
    expect(answer).toEqual({ delivered: true, reply: undefined });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(BackplaneError);
    expect(errors[0]!.message).not.toContain('session=x');
    // Nothing listens on an unknown channel; a node that does not exist is not found.
    expect(await backplane.sendToNode('node-b', 'no-such-channel', 'x')).toEqual({ delivered: true, reply: undefined });
    expect(await backplane.sendToNode('node-z', 'no-such-channel', 'x')).toEqual({ delivered: false, reason: 'not-found' });
  });

  it('a stream request on the node without the session is answered with an empty event stream (the client long-polls)', async () => {
    await twoNodes();
    const web = await BalancedHttpPeer.create(balancer!.port);
    const other = nodeOfSession(web.session) === 'node-a' ? 1 : 0;
    balancer!.next = other;
    const answer = await send(
      balancer!.port,
      'GET',
      { session: web.session },
      { [SECRET]: web.secret, accept: 'text/event-stream' },
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');
  });
});
