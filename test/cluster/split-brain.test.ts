import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PeerLeft, SignallingHubError } from '../../src/index.js';
import { CliProcess, buildCli } from '../helpers/cli-process.js';
import { type FreezableProxy, loggedIn, loginWithin, sleep, startFreezableProxy, useRedisCluster } from '../helpers/cluster.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { RedisBackplane } from '../../src/redis.js';
import { type Frame, TestClient } from '../helpers/test-client.js';

/** Short leases; the bound after which a split name is healed is heartbeatInterval + commandTimeout. */
const options = { leaseTtl: 1500, heartbeatInterval: 250, commandTimeout: 500 };
const bound = options.heartbeatInterval + options.commandTimeout;
/** Room for a loaded machine on top of the bound (test processes share two cores). */
const slack = 1500;

/** Resolves with the close of `client`, or `undefined` if it is still open after `ms`. */
function closedWithin(client: TestClient, ms: number): Promise<{ code: number; reason: string } | undefined> {
  return Promise.race([client.closed, sleep(ms).then(() => undefined)]);
}

/**
 * A name held on a node that could not reach Redis for longer than its lease
 * is taken on another node meanwhile: once the first node reaches Redis
 * again, its holder is closed with 4410 and one holder remains.
 */
describe('a name split by a stall', () => {
  const cluster = useRedisCluster('x');
  const { clients } = cluster;
  const proxies: FreezableProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  async function connect(url: string): Promise<TestClient> {
    const client = await TestClient.connect(url);
    clients.push(client);
    return client;
  }

  async function offerReaches(from: TestClient, to: TestClient, target: string, fromName: string): Promise<void> {
    from.send({ type: 'offer', offer: { sdp: `from ${fromName}` }, name: target });
    expect(await to.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: `from ${fromName}` }, name: fromName });
  }

  it('closes the holder of a node cut off from Redis past its lease with 4410 once it is back, within the bound', async () => {
    const proxy = await startFreezableProxy(cluster.redis.port);
    proxies.push(proxy);
    const one = await cluster.node({ ...options, url: proxy.url });
    const two = await cluster.node(options);
    const left: PeerLeft[] = [];
    const errors: SignallingHubError[] = [];
    one.hub.on('peer-left', (event) => left.push(event));
    one.hub.on('error', (error) => errors.push(error));
    const a = await loggedIn(one.url, 'Split', clients);

    // Node one can neither refresh its lease nor hear anything: once the lease lapses, node two may take the name.
    proxy.freeze();
    const b = await connect(two.url);
    expect(await loginWithin(b, 'Split', 3 * options.leaseTtl)).toMatchObject({ success: true, name: 'Split' });
    // Both hold it now, each on its node.
    expect(one.hub.getPeer('Split')).toBeDefined();

    proxy.thaw();
    const thawedAt = Date.now();
    expect(await closedWithin(a, bound + slack)).toMatchObject({ code: 4410 });
    expect(Date.now() - thawedAt).toBeLessThan(bound + slack);
    expect(left).toEqual([expect.objectContaining({ name: 'Split', reason: 'claim-lost', code: 4410 })]);
    expect(one.hub.getPeer('Split')).toBeUndefined();
    expect(errors.some((error) => error.code === 'SH_ERR_BACKPLANE' && error.message.includes('Split'))).toBe(true);

    // One holder: node two's. Relays from both nodes reach it, and node one refuses the name.
    const fromTwo = await loggedIn(two.url, 'FromTwo', clients);
    const fromOne = await loggedIn(one.url, 'FromOne', clients);
    await offerReaches(fromTwo, b, 'Split', 'FromTwo');
    await offerReaches(fromOne, b, 'Split', 'FromOne');
    const again = await connect(one.url);
    expect(await again.login('Split')).toMatchObject({ success: false, reason: 'name-taken' });
    expect(b.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('leaves exactly one holder when Redis itself froze for longer than the lease', async () => {
    const [one, two] = [await cluster.node(options), await cluster.node(options)];
    const a = await loggedIn(one.url, 'Frozen', clients);
    const b = await connect(two.url);
    cluster.redis.pause();
    try {
      expect(await b.login('Frozen')).toMatchObject({ success: false, reason: 'backplane-unavailable' });
      await sleep(options.leaseTtl + 500);
    } finally {
      cluster.redis.resume();
    }
    // Straight away, while every lease is being re-created: either node may win the name, but only one.
    let reply: Frame = await b.login('Frozen');
    for (let attempt = 0; attempt < 10 && reply.reason === 'backplane-unavailable'; attempt++) {
      await sleep(100);
      reply = await b.login('Frozen');
    }
    const closed = await closedWithin(a, bound + slack);
    let holder: TestClient;
    if (reply.success === true) {
      expect(closed).toMatchObject({ code: 4410 });
      holder = b;
    } else {
      expect(reply).toMatchObject({ success: false, reason: 'name-taken' });
      expect(closed).toBeUndefined();
      holder = a;
    }
    const fromTwo = await loggedIn(two.url, 'FromTwo', clients);
    const fromOne = await loggedIn(one.url, 'FromOne', clients);
    await offerReaches(fromTwo, holder, 'Frozen', 'FromTwo');
    await offerReaches(fromOne, holder, 'Frozen', 'FromOne');
  });
});

/** The same with a real process frozen by SIGSTOP past its lease, with the default options (the promise is about them). */
describe('a CLI node stalled past its lease', () => {
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  // Only for its redis-server: the CLI uses the default key prefix.
  const cluster = useRedisCluster('cli');
  const clients: TestClient[] = [];
  let cli: CliProcess | undefined;
  let other: HubServer | undefined;

  beforeAll(async () => {
    built = await buildCli();
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    if (cli !== undefined) {
      cli.child.kill('SIGCONT');
      await cli.kill();
    }
    await other?.close();
    built?.remove();
  });

  it('closes its holder with 4410 within heartbeatInterval + commandTimeout of running again', async () => {
    cli = await CliProcess.start(built!.script, ['--port', '0', '--host', '127.0.0.1', '--redis', cluster.redis.url]);
    // The CLI's defaults, and its key prefix.
    other = await startHubServer({ backplane: new RedisBackplane({ url: cluster.redis.url }) });
    await other.hub.ready;
    const a = await loggedIn(cli.url, 'Stalled', clients);
    cli.child.kill('SIGSTOP');
    let b: TestClient;
    try {
      b = await TestClient.connect(other.url);
      clients.push(b);
      // leaseTtl is 5 s by default: the name frees up once the frozen node's lease lapses.
      expect(await loginWithin(b, 'Stalled', 9000)).toMatchObject({ success: true, name: 'Stalled' });
    } finally {
      cli.child.kill('SIGCONT');
    }
    const resumedAt = Date.now();
    // Defaults: heartbeatInterval 1500 + commandTimeout 1000.
    expect(await closedWithin(a, 2500 + slack)).toMatchObject({ code: 4410 });
    expect(Date.now() - resumedAt).toBeLessThan(2500 + slack);
    const fromCli = await loggedIn(cli.url, 'FromCli', clients);
    fromCli.send({ type: 'offer', offer: { sdp: 'x' }, name: 'Stalled' });
    expect(await b.nextOf('offer')).toMatchObject({ name: 'FromCli' });
  }, 30_000);
});
