import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, CliProcess } from '../helpers/cli-process.js';
import { RedisServer } from '../helpers/redis-server.js';

/** The CLI with --redis, as an operator sees it: logs of the backplane's state and /readyz following it. */
describe('the CLI in a cluster: backplane state in logs and /readyz', () => {
  let redis: RedisServer | undefined;
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  let node: CliProcess | undefined;

  beforeAll(async () => {
    const [server, build] = await Promise.allSettled([RedisServer.start(), buildCli()]);
    if (server.status === 'fulfilled') redis = server.value;
    if (build.status === 'fulfilled') built = build.value;
    if (server.status === 'rejected') throw server.reason;
    if (build.status === 'rejected') throw build.reason;
  }, 60_000);
  afterAll(async () => {
    await node?.kill();
    await redis?.dispose();
    built?.remove();
  });

  const readyz = async () => {
    const response = await fetch(`${node!.origin}/readyz`);
    return { status: response.status, body: (await response.json()) as { checks: { backplane: string } } };
  };

  it('is ready once the backplane is connected, 503 while Redis is away, ready again when it returns', async () => {
    // A password in the URL never reaches the logs.
    const url = redis!.url.replace('redis://', 'redis://:hunter2@');
    await redis!.command('CONFIG SET requirepass hunter2');
    node = await CliProcess.start(built!.script, ['--port', '0', '--host', '127.0.0.1', '--redis', url], 20_000);
    const lines = node.lines().map((line) => line.replace(/^\S+Z /, ''));
    expect(lines[0]).toBe(`INFO  joining the cluster redis=redis://127.0.0.1:${redis!.port}`);
    expect(lines).toContain('INFO  backplane connected state=connected');
    expect(lines.at(-1)).toMatch(/^INFO {2}listening on ws:/);
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: 'ready', checks: { hub: 'open', server: 'listening', backplane: 'connected' } },
    });

    await redis!.kill();
    await expect.poll(() => node!.output, { timeout: 15_000 }).toMatch(/WARN {2}backplane disconnected state=disconnected/);
    expect(await readyz()).toMatchObject({ status: 503, body: { status: 'not-ready', checks: { backplane: 'disconnected' } } });

    await redis!.start();
    await redis!.command('CONFIG SET requirepass hunter2');
    await expect.poll(async () => (await readyz()).status, { timeout: 20_000, interval: 200 }).toBe(200);
    expect(node.output.split('backplane disconnected')[1]).toMatch(/INFO {2}backplane connected state=connected/);
    expect(node.output).not.toContain('hunter2');

    await node.kill('SIGTERM');
    expect((await node.exited).code).toBe(0);
  });
});
