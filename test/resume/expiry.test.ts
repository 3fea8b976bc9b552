import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/events.js';
import { CliProcess, buildCli } from '../helpers/cli-process.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';
import { WebRtcPeers, logLines } from './webrtc-peers.js';

describe('expiry: a resumable peer that does not come back (the CLI with --resume-grace 1000)', () => {
  let built: Awaited<ReturnType<typeof buildCli>> | undefined;
  let node: CliProcess | undefined;
  let proxy: TcpProxy | undefined;
  const peers = new WebRtcPeers();

  beforeAll(async () => {
    built = await buildCli();
    node = await CliProcess.start(built.script, [
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--resume-grace',
      '1000',
      '--log-format',
      'json',
    ]);
  });
  afterAll(async () => {
    await peers.dispose();
    await proxy?.close();
    await node?.kill();
    built?.remove();
  });

  it('after the grace its partner hears leave and closes the call, and the sender of a held relay gets peer-gone', async () => {
    proxy = await startTcpProxy(Number(new URL(node!.url).port));
    // alice will not come back: she does not reconnect.
    const alice = await peers.peer('alice', `ws://127.0.0.1:${proxy.port}/`, { reconnect: false });
    const bob = await peers.peer('bob', node!.url);
    await peers.connect(alice, bob);

    const droppedAt = Date.now();
    proxy.drop();
    await until(() => alice.client.state === 'closed', 'alice to be gone');
    // Within the grace bob hears nothing; his ICE restart offer is held for alice.
    expect(bob.calls.restartIce('alice')).toBe(true);
    // The first thing bob hears of it comes at the end of the grace, not before.
    await until(() => bob.leaves.length + bob.closed.length + bob.errors.length > 0, 'bob to hear of alice', 10_000);
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(1000);
    await until(() => bob.closed.length > 0, 'bob to close the call', 10_000);
    expect(bob.leaves).toEqual(['alice']);
    expect(bob.closed).toEqual([{ peer: 'alice', reason: 'leave' }]);
    expect(bob.errors).toEqual([
      { type: 'error', code: 'peer-gone', message: expect.any(String) as string, request: 'offer', target: 'alice' },
    ]);
    await until(() => logLines(node!).some((line) => line.msg === 'peer left'), 'the log line');
    expect(logLines(node!).filter((line) => line.msg === 'peer dropped, may resume' || line.msg === 'peer left')).toEqual([
      expect.objectContaining({ msg: 'peer dropped, may resume', name: 'alice', code: 1006 }),
      expect.objectContaining({ msg: 'peer left', name: 'alice', reason: 'resume-expired' }),
    ]);
  });
});
