import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCliArgs, UsageError } from '../../src/cli/args.js';
import { buildCli, CliProcess } from '../helpers/cli-process.js';
import { RedisServer } from '../helpers/redis-server.js';
import { ProviderProcess } from './provider.js';
import { RawClient } from './y-webrtc-server.js';

describe('--y-webrtc [path]', () => {
  it('parses a bare --y-webrtc as /y-webrtc, a path, and the environment', () => {
    expect(parseCliArgs([]).yWebrtc).toBeUndefined();
    expect(parseCliArgs(['--y-webrtc']).yWebrtc).toEqual({ path: '/y-webrtc' });
    expect(parseCliArgs(['--y-webrtc', '--metrics']).yWebrtc).toEqual({ path: '/y-webrtc' });
    expect(parseCliArgs(['--y-webrtc', '/yjs']).yWebrtc).toEqual({ path: '/yjs' });
    expect(parseCliArgs(['--peerjs', '--y-webrtc']).peerjs).toEqual({ path: '/peerjs/', key: 'peerjs' });
    expect(parseCliArgs([], { SIGNALLING_HUB_Y_WEBRTC: '/x' }).yWebrtc).toEqual({ path: '/x' });
    expect(parseCliArgs([], { SIGNALLING_HUB_Y_WEBRTC: 'on' }).yWebrtc).toEqual({ path: '/y-webrtc' });
    expect(parseCliArgs([], { SIGNALLING_HUB_Y_WEBRTC: 'off' }).yWebrtc).toBeUndefined();
  });

  it('refuses a bad path in one line', () => {
    expect(() => parseCliArgs(['--y-webrtc', 'x y'])).toThrow(UsageError);
    expect(() => parseCliArgs(['--y-webrtc', 'relative'])).toThrow(/^--y-webrtc must be a URL path starting with "\/"/);
    expect(() => parseCliArgs(['--y-webrtc', '/'])).toThrow(/^--y-webrtc must be a path other than --path/);
  });
});

describe('the CLI serving y-webrtc', () => {
  let built: Awaited<ReturnType<typeof buildCli>>;
  let redis: RedisServer;
  const processes: CliProcess[] = [];
  const providers: ProviderProcess[] = [];

  beforeAll(async () => {
    built = await buildCli();
    redis = await RedisServer.start();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(providers.map((provider) => provider.stop()));
    for (const process of processes) await process.kill();
    built?.remove();
    await redis?.dispose();
  });

  async function cli(args: string[]): Promise<string> {
    const started = await CliProcess.start(built.script, ['--port', '0', '--host', '127.0.0.1', ...args]);
    processes.push(started);
    return `ws://127.0.0.1:${new URL(started.url).port}/y-webrtc`;
  }

  it('syncs a Y.Doc between real providers on two CLI nodes on Redis, next to the classic protocol', async () => {
    const [one, two] = [await cli(['--y-webrtc', '--redis', redis.url]), await cli(['--y-webrtc', '--redis', redis.url])];
    const ping = await RawClient.connect(one);
    ping.send({ type: 'ping' });
    expect(await ping.next()).toEqual({ type: 'pong' });
    ping.socket.close();
    // b starts once a's announce went round (a raw subscriber on node two hears it), so only a calls:
    // two providers announcing at once both call, and y-webrtc's glare handling loses such calls now and then.
    const watch = await RawClient.connect(two);
    watch.send({ type: 'subscribe', topics: ['cli-doc'] });
    // Its own publish comes back once the cluster has confirmed the subscribe.
    watch.send({ type: 'publish', topic: 'cli-doc', data: { type: 'watching' } });
    await watch.next((frame) => frame.type === 'publish');
    const a = ProviderProcess.start(one, 'cli-doc');
    providers.push(a);
    await watch.next((frame) => frame.type === 'publish' && (frame.data as { type?: string } | undefined)?.type === 'announce');
    watch.socket.close();
    const b = ProviderProcess.start(two, 'cli-doc');
    providers.push(b);
    await a.until((p) => p.peers === 1, 'a has a WebRTC peer');
    a.insert('from one');
    await b.until((p) => p.text === 'from one', "b sees a's text");
  }, 60_000);
});
