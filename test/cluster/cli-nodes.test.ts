import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, buildCli } from '../helpers/cli-process.js';
import { loggedIn } from '../helpers/cluster.js';
import { RedisServer } from '../helpers/redis-server.js';
import { TestClient } from '../helpers/test-client.js';

/**
 * What a new user does: several `signalling-hub --redis` processes, a client
 * on each, then one process SIGKILLed. Default lease settings on purpose: the
 * 10 s promise is about the defaults.
 */
describe('CLI nodes through Redis', () => {
  let redis: RedisServer;
  let cli: string;
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  const processes: CliProcess[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    // Settled one by one so that whichever started is cleaned up if the other fails.
    const [server, build] = await Promise.allSettled([RedisServer.start(), buildCli()]);
    if (server.status === 'fulfilled') redis = server.value;
    if (build.status === 'fulfilled') built = build.value;
    if (server.status === 'rejected') throw server.reason;
    if (build.status === 'rejected') throw build.reason;
    cli = built!.script;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(processes.map((p) => p.kill()));
    await redis?.dispose();
    built?.remove();
  });

  async function startNode(extra: string[] = []): Promise<CliProcess> {
    const node = await CliProcess.start(cli, ['--port', '0', '--host', '127.0.0.1', '--redis', redis.url, ...extra]);
    processes.push(node);
    return node;
  }

  const client = (node: CliProcess, name: string) => loggedIn(node.url, name, clients);

  it('runs a conversation across processes; a SIGKILLed node frees its names and its partners hear leave within 10 s', async () => {
    const [n1, n2, n3] = await Promise.all([startNode(), startNode(), startNode()]);
    const a = await client(n1, 'Alice');
    const b = await client(n2, 'Bob');
    const c = await client(n3, 'Carol');
    const bystander = await client(n2, 'Dave');

    // Alice calls Bob (n1 → n2) and Carol calls Alice (n3 → n1).
    a.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 alice' }, name: 'Bob' });
    expect(await b.next()).toEqual({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 alice' }, name: 'Alice' });
    b.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 bob' }, name: 'Alice' });
    expect(await a.next()).toEqual({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 bob' }, name: 'Bob' });
    a.send({ type: 'candidate', candidate: { candidate: 'candidate:a' }, name: 'Bob' });
    expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: 'candidate:a' }, name: 'Alice' });
    c.send({ type: 'offer', offer: { sdp: 'v=0 carol' }, name: 'Alice' });
    expect(await a.next()).toEqual({ type: 'offer', offer: { sdp: 'v=0 carol' }, name: 'Carol' });
    a.send({ type: 'answer', answer: { sdp: 'v=0 alice' }, name: 'Carol' });
    expect(await c.next()).toEqual({ type: 'answer', answer: { sdp: 'v=0 alice' }, name: 'Alice' });

    // Alice's name is taken on every node while n1 lives.
    const early = await TestClient.connect(n2.url);
    clients.push(early);
    expect(await early.login('Alice')).toMatchObject({ success: false, reason: 'name-taken' });

    const killedAt = Date.now();
    await n1.kill('SIGKILL');
    const [toBob, toCarol] = await Promise.all([b.nextOf('leave', 10_000), c.nextOf('leave', 10_000)]);
    expect(toBob).toEqual({ type: 'leave', name: 'Alice' });
    expect(toCarol).toEqual({ type: 'leave', name: 'Alice' });
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    // Only call partners hear it.
    expect(bystander.inbox).toEqual([]);

    // The dead node's name is free again, and a send to it is a plain peer-not-found.
    expect(await early.login('Alice')).toMatchObject({ success: true, name: 'Alice' });
    c.send({ type: 'candidate', candidate: { candidate: 'x' }, name: 'Bob' });
    expect(await b.nextOf('candidate')).toMatchObject({ name: 'Carol' });
  });

  it('refuses to start when Redis cannot be reached, with a message saying so', async () => {
    const down = await RedisServer.start();
    const url = down.url;
    await down.dispose();
    const started = Date.now();
    await expect(CliProcess.start(cli, ['--port', '0', '--host', '127.0.0.1', '--redis', url], 20_000)).rejects.toThrow(
      // Whatever the log lines before it look like.
      /exited with 1: [\s\S]*cannot join the cluster through Redis at redis:\/\/127\.0\.0\.1:\d+/,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('with --links, relays between the processes over their link: Redis publishes none of them', async () => {
    const links = ['--links', '127.0.0.1:0'];
    const [n1, n2] = await Promise.all([startNode(links), startNode(links)]);
    const a = await client(n1, 'Lena');
    const b = await client(n2, 'Marc');
    const admin = createClient({ url: redis.url });
    admin.on('error', () => {});
    await admin.connect();
    try {
      const publishes = async () =>
        Number(/cmdstat_publish:calls=(\d+)/.exec(await admin.sendCommand<string>(['INFO', 'commandstats']))?.[1] ?? 0);
      // The first relays find where the other peer is (through Redis) and dial the link; then it carries them.
      let round = 0;
      for (; round < 50; round++) {
        const before = await publishes();
        for (let i = 0; i < 20; i++) a.send({ type: 'candidate', candidate: { round, i }, name: 'Marc' });
        for (let i = 0; i < 20; i++)
          expect(await b.nextOf('candidate')).toEqual({ type: 'candidate', candidate: { round, i }, name: 'Lena' });
        if ((await publishes()) === before) break;
      }
      // A round of 20 relays that Redis did not publish: they went over the link.
      expect(round).toBeLessThan(50);
    } finally {
      admin.destroy();
    }
    await Promise.all([n1.kill('SIGTERM'), n2.kill('SIGTERM')]);
    expect(await n1.exited).toEqual({ code: 0, signal: null });
  });

  it('shuts down cleanly on SIGTERM, giving its names back', async () => {
    const [n1, n2] = await Promise.all([startNode(), startNode()]);
    await client(n1, 'Erin');
    await n1.kill('SIGTERM');
    expect(await n1.exited).toEqual({ code: 0, signal: null });
    const again = await TestClient.connect(n2.url);
    clients.push(again);
    expect(await again.login('Erin')).toMatchObject({ success: true });
  });
});
