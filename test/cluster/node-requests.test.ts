import { expect, it } from 'vitest';
import { type BackplaneHost, BackplaneError, type SignallingHubError } from '../../src/index.js';
import { clusterSuite } from '../helpers/cluster.js';
import { until } from '../helpers/events.js';

type Answer = NonNullable<BackplaneHost['nodeMessage']>;

/** A host that only answers node requests (the backplane is the unit under test) and records what it was told. */
function host(answer?: Answer) {
  const errors: SignallingHubError[] = [];
  const requests: Array<[from: string, channel: string, payload: string]> = [];
  const recording: BackplaneHost & { errors: SignallingHubError[]; requests: typeof requests } = {
    errors,
    requests,
    deliver: () => false,
    localClaims: () => [],
    claimLost: () => {},
    nodeDown: () => {},
    remoteNodes: () => [],
    error: (error) => errors.push(error as SignallingHubError),
    stateChanged: () => {},
    handOverRequested: () => undefined,
    handOverSettled: () => {},
    nodeMessage:
      answer === undefined
        ? undefined
        : (from, channel, payload) => {
            requests.push([from, channel, payload]);
            return answer(from, channel, payload);
          },
  };
  return recording;
}

/**
 * Requests between the hosts of two nodes (what the HTTP fallback forwards a
 * request for a session held elsewhere with): each answered, or told why not,
 * within its timeout.
 */
clusterSuite('requests between nodes', 'nr', (cluster) => {
  it('carries a request to the far host and its answer back, sync or async', async () => {
    const far = host((from, channel, payload) =>
      channel === 'later' ? Promise.resolve(`async ${payload}`) : `${channel}:${payload} from ${from}`,
    );
    const one = await cluster.bare(host());
    const two = await cluster.bare(far);
    expect(await one.sendToNode!(two.nodeId, 'echo', 'héllo 😀')).toEqual({
      delivered: true,
      reply: `echo:héllo 😀 from ${one.nodeId}`,
    });
    expect(await one.sendToNode!(two.nodeId, 'later', 'x')).toEqual({ delivered: true, reply: 'async x' });
    expect(far.requests).toEqual([
      [one.nodeId, 'echo', 'héllo 😀'],
      [one.nodeId, 'later', 'x'],
    ]);
  });

  it('answers undefined when nothing there handles the channel, and when the handler fails (reported there)', async () => {
    const one = await cluster.bare(host());
    const silent = await cluster.bare(host());
    expect(await one.sendToNode!(silent.nodeId, 'any', 'x')).toEqual({ delivered: true, reply: undefined });
    const failing = host((_from, channel) => {
      if (channel === 'throw') throw new Error('handler threw');
      return Promise.reject(new Error('handler rejected'));
    });
    const two = await cluster.bare(failing);
    expect(await one.sendToNode!(two.nodeId, 'throw', 'x')).toEqual({ delivered: true, reply: undefined });
    expect(await one.sendToNode!(two.nodeId, 'reject', 'x')).toEqual({ delivered: true, reply: undefined });
    await until(() => failing.errors.length === 2, 'both failures reported');
    expect(failing.errors.map((error) => error.code)).toEqual(['SH_ERR_BACKPLANE', 'SH_ERR_BACKPLANE']);
  });

  it('answers not-found for a node nobody is, and timeout when the far host does not answer in time', async () => {
    const one = await cluster.bare(host());
    expect(await one.sendToNode!('nobody-here', 'any', 'x')).toEqual({ delivered: false, reason: 'not-found' });
    const stuck = await cluster.bare(host(() => new Promise<string>(() => {})));
    const sentAt = Date.now();
    expect(await one.sendToNode!(stuck.nodeId, 'any', 'x', { timeoutMs: 200 })).toEqual({ delivered: false, reason: 'timeout' });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(190);
  });

  it('refuses a payload that is not well-formed text, and answers unavailable once closed', async () => {
    const one = await cluster.bare(host());
    const stuck = host(() => new Promise<string>(() => {}));
    const two = await cluster.bare(stuck);
    expect(() => one.sendToNode!(two.nodeId, 'any', 'lone \uD800')).toThrow(BackplaneError);
    const pending = one.sendToNode!(two.nodeId, 'any', 'x', { timeoutMs: 10_000 });
    await until(() => stuck.requests.length === 1, 'the request on node two');
    // Waiting for an answer when the node leaves: told at once, not after the timeout.
    await one.close();
    expect(await pending).toEqual({ delivered: false, reason: 'unavailable' });
    expect(await one.sendToNode!(two.nodeId, 'any', 'x')).toEqual({ delivered: false, reason: 'unavailable' });
  });
});
