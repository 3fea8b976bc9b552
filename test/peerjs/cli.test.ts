import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCliArgs, UsageError } from '../../src/cli/args.js';
import { buildCli, CliProcess } from '../helpers/cli-process.js';
import { RedisServer } from '../helpers/redis-server.js';
import { PeerjsWsClient } from './peerjs-server.js';

describe('--peerjs [path] and --peerjs-key', () => {
  it('parses a bare --peerjs as /peerjs, a path, a key, and the environment', () => {
    expect(parseCliArgs([]).peerjs).toBeUndefined();
    expect(parseCliArgs(['--peerjs']).peerjs).toEqual({ path: '/peerjs/', key: 'peerjs' });
    expect(parseCliArgs(['--peerjs', '--metrics']).peerjs).toEqual({ path: '/peerjs/', key: 'peerjs' });
    expect(parseCliArgs(['--peerjs', '/myapp', '--peerjs-key', 'k1']).peerjs).toEqual({ path: '/myapp/', key: 'k1' });
    expect(parseCliArgs([], { SIGNALLING_HUB_PEERJS: '/x' }).peerjs).toEqual({ path: '/x/', key: 'peerjs' });
    expect(parseCliArgs([], { SIGNALLING_HUB_PEERJS: 'on' }).peerjs).toEqual({ path: '/peerjs/', key: 'peerjs' });
    expect(parseCliArgs([], { SIGNALLING_HUB_PEERJS: 'off' }).peerjs).toBeUndefined();
  });

  it('refuses a bad key or path in one line', () => {
    expect(() => parseCliArgs(['--peerjs', '--peerjs-key', 'a:b'])).toThrow(UsageError);
    expect(() => parseCliArgs(['--peerjs', '--peerjs-key', 'a:b'])).toThrow(/^--peerjs-key must be/);
    expect(() => parseCliArgs(['--peerjs', 'x y'])).toThrow(/^--peerjs must be/);
    expect(() => parseCliArgs(['--peerjs', 'relative'])).toThrow(/^--peerjs must be a path starting with "\/"/);
  });
});

describe('the CLI serving PeerJS', () => {
  let built: Awaited<ReturnType<typeof buildCli>>;
  let redis: RedisServer;
  const processes: CliProcess[] = [];

  beforeAll(async () => {
    built = await buildCli();
    redis = await RedisServer.start();
  }, 60_000);

  afterAll(async () => {
    for (const process of processes) await process.kill();
    built?.remove();
    await redis?.dispose();
  });

  async function cli(args: string[]): Promise<{ cli: CliProcess; port: number }> {
    const started = await CliProcess.start(built.script, ['--port', '0', '--host', '127.0.0.1', ...args]);
    processes.push(started);
    return { cli: started, port: Number(new URL(started.url).port) };
  }

  it('relays between PeerJS clients on two CLI nodes on Redis, next to the classic protocol', async () => {
    const [one, two] = [await cli(['--peerjs', '--redis', redis.url]), await cli(['--peerjs', '--redis', redis.url])];
    const info = await fetch(`${one.cli.origin}/peerjs`);
    expect(await info.json()).toMatchObject({ name: 'PeerJS Server' });
    // The CLI's own routes are still there.
    expect((await fetch(`${one.cli.origin}/healthz`)).status).toBe(200);
    const a = await PeerjsWsClient.open(one.port, 'a', 'ta', 'peerjs', '/peerjs/');
    const b = await PeerjsWsClient.open(two.port, 'b', 'tb', 'peerjs', '/peerjs/');
    try {
      a.send({ type: 'OFFER', dst: 'b', payload: { sdp: 'o' } });
      expect(await b.next()).toEqual({ type: 'OFFER', src: 'a', dst: 'b', payload: { sdp: 'o' } });
      b.send({ type: 'ANSWER', dst: 'a', payload: { sdp: 'r' } });
      expect(await a.next()).toEqual({ type: 'ANSWER', src: 'b', dst: 'a', payload: { sdp: 'r' } });
    } finally {
      a.socket.terminate();
      b.socket.terminate();
    }
  });
});
