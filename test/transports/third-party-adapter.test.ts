import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignallingHub } from '../../src/index.js';
import { RedisBackplane } from '../../src/redis.js';
import { nextEvent } from '../helpers/events.js';
import { type Frame, Inbox } from '../helpers/inbox.js';
import { RedisServer } from '../helpers/redis-server.js';
import { type LineAdapter, serveLines } from './line-adapter.js';

/** A client of the line adapter: one JSON frame per line each way. */
class LineClient {
  readonly inbox = new Inbox();
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    let rest = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      rest += chunk;
      let end: number;
      while ((end = rest.indexOf('\n')) !== -1) {
        this.inbox.push(JSON.parse(rest.slice(0, end)) as Frame);
        rest = rest.slice(end + 1);
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  send(frame: object): void {
    this.socket.write(`${JSON.stringify(frame)}\n`);
  }

  async login(name: string): Promise<Frame> {
    this.send({ type: 'login', name });
    return this.inbox.next((frame) => frame.type === 'login');
  }
}

describe('a transport adapter built from the public exports only', () => {
  let redis: RedisServer;
  const hubs: SignallingHub[] = [];
  const adapters: LineAdapter[] = [];
  const clients: LineClient[] = [];
  let round = 0;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.dispose();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    await Promise.all(adapters.splice(0).map((adapter) => adapter.close()));
    await Promise.all(hubs.splice(0).map((hub) => hub.close()));
    round++;
  });

  async function node(nodeId?: string): Promise<[SignallingHub, LineAdapter]> {
    const hub = new SignallingHub(
      nodeId === undefined
        ? {}
        : {
            backplane: new RedisBackplane({
              url: redis.url,
              keyPrefix: `thirdparty${round}:`,
              nodeId,
              leaseTtl: 1500,
              heartbeatInterval: 250,
            }),
          },
    );
    hubs.push(hub);
    await hub.ready;
    const adapter = await serveLines(hub);
    adapters.push(adapter);
    return [hub, adapter];
  }

  async function client(adapter: LineAdapter): Promise<LineClient> {
    const created = await LineClient.connect(adapter.port);
    clients.push(created);
    return created;
  }

  it('serves logins and relays across two nodes, and asks the other node through the port', async () => {
    const [hubA, lineA] = await node('node-a');
    const [hubB, lineB] = await node('node-b');
    expect(hubA.adapterPort.nodeId).toBe('node-a');
    expect(hubB.adapterPort).toBe(hubB.adapterPort);
    const alice = await client(lineA);
    const bob = await client(lineB);
    expect(await alice.login('alice')).toMatchObject({ success: true });
    expect(await bob.login('bob')).toMatchObject({ success: true });
    alice.send({ type: 'offer', name: 'bob', offer: { type: 'offer', sdp: 'v=0' } });
    expect(await bob.inbox.next((frame) => frame.type === 'offer')).toMatchObject({ name: 'alice' });
    // The adapter's own node-to-node channel, as the HTTP fallback forwards its requests.
    expect(await lineA.sessionsOn('node-b')).toBe(1);
    await client(lineB);
    await expect.poll(() => lineB.sessions).toBe(2);
    expect(await lineB.sessionsOn('node-a')).toBe(1);
    expect(await lineA.sessionsOn('node-b')).toBe(2);
    expect(await lineA.sessionsOn('node-nobody')).toBe('not-found');
  });

  it('reports errors and warnings on the hub, and refuses connections while the hub drains', async () => {
    const [hub, lines] = await node();
    expect(hub.adapterPort.sendToNode).toBeUndefined();
    expect(await lines.sessionsOn('anywhere')).toBe('no backplane');
    const big = await client(lines);
    const warning = nextEvent(hub, 'warning');
    big.socket.write('x'.repeat(hub.options.maxMessageBytes + 10));
    expect((await warning).code).toBe('SH_ERR_TRANSPORT');
    expect(await big.inbox.next()).toMatchObject({ type: 'close', code: 1009 });

    const reset = await client(lines);
    await expect.poll(() => lines.sessions).toBe(1);
    const error = nextEvent(hub, 'error');
    // A reset from the client: the server's socket fails with ECONNRESET.
    reset.socket.resetAndDestroy();
    expect(await error).toMatchObject({ code: 'SH_ERR_TRANSPORT', cause: { code: 'ECONNRESET' } });

    void hub.drain({ timeout: 1000 });
    expect(hub.adapterPort.accepting).toBe(false);
    const late = await client(lines);
    expect(await late.inbox.next()).toMatchObject({ type: 'unavailable', status: 503 });
  });
});
