import wrtc from '@roamhq/wrtc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type PeerCloseReason, PeerConnectionManager, SignallingClient } from '../../src/client.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';
import { WebRtcPeers, restartIce, restarted, ufrag } from './webrtc-peers.js';

/** What a test makes a connection report, over its real state: a path that broke. */
const reported = new WeakMap<object, { iceConnectionState?: string; connectionState?: string }>();

/**
 * A real libwebrtc connection whose reported ICE and connection states a test
 * can override (a path that broke, which loopback cannot do): @roamhq/wrtc
 * defines them as non-configurable own properties, hence a Proxy.
 */
class Reporting {
  constructor(configuration?: RTCConfiguration) {
    const connection = new wrtc.RTCPeerConnection(configuration);
    const overrides: { iceConnectionState?: string; connectionState?: string } = {};
    const proxy = new Proxy(connection, {
      get(target, property) {
        if (property === 'iceConnectionState' || property === 'connectionState') {
          return overrides[property] ?? target[property];
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
      set(target, property, value) {
        return Reflect.set(target, property, value, target);
      },
    });
    reported.set(proxy, overrides);
    return proxy;
  }
}

describe('ICE restarts through the hub when the path between the peers broke (real WebRTC)', () => {
  let server: HubServer;
  let proxy: TcpProxy;
  const peers = new WebRtcPeers();
  const own: Array<{ client: SignallingClient; calls: PeerConnectionManager<RTCPeerConnection> }> = [];

  beforeAll(async () => {
    server = await startHubServer({ resumeGrace: 10_000 });
  });
  afterEach(async () => {
    for (const { client, calls } of own.splice(0)) {
      calls.close();
      await client.close();
    }
    await peers.closeAll();
    await proxy?.close();
  });
  afterAll(async () => {
    await server?.close();
    await peers.dispose();
  });

  /** alice (through the proxy, with reporting connections and these manager options) in a call with bob. */
  async function call(iceRestart: boolean) {
    proxy = await startTcpProxy(server.port);
    const client = new SignallingClient(`ws://127.0.0.1:${proxy.port}/`, {
      WebSocket,
      reconnectDelay: 100,
      maxReconnectDelay: 100,
    });
    const calls = new PeerConnectionManager(client, {
      RTCPeerConnection: Reporting as unknown as typeof wrtc.RTCPeerConnection,
      iceRestart,
    });
    own.push({ client, calls });
    const closed: Array<{ peer: string; reason: PeerCloseReason }> = [];
    calls.on('connection', ({ connection }) => peers.keptAlive.push(connection));
    calls.on('closed', (event) => closed.push(event));
    await client.login('alice');
    const bob = await peers.peer('bob', server.url);
    const offers: string[] = [];
    bob.client.on('offer', ({ from }) => offers.push(from));
    const opened = nextEvent(bob.calls, 'datachannel', 15_000);
    const channel = calls.call('bob').createDataChannel('chat');
    await opened;
    await until(() => channel.readyState === 'open', 'the channel to open', 15_000);
    const atAlice = calls.get('bob')!;
    const atBob = bob.calls.get('alice')!;
    return { client, calls, closed, bob, offers, atAlice, atBob, overrides: reported.get(atAlice)! };
  }

  it('after a resume, restarts ICE for a call whose ICE state is disconnected', async () => {
    const { client, closed, bob, offers, atAlice, atBob, overrides } = await call(true);
    const before = [ufrag(atAlice.localDescription), ufrag(atBob.localDescription)];
    // The network changed: the signalling dropped and the path between the peers went too.
    overrides.iceConnectionState = 'disconnected';
    proxy.drop();
    await nextEvent(client, 'login', 10_000);
    overrides.iceConnectionState = undefined;
    await until(() => restarted(atAlice, atBob, before), 'the ICE restart to complete', 20_000);
    expect(offers).toEqual(['alice', 'alice']);
    expect(closed).toEqual([]);
    expect(bob.closed).toEqual([]);
  });

  it('with iceRestart: false it leaves the call as it is after a resume', async () => {
    const { client, closed, bob, offers, atAlice, atBob, overrides } = await call(false);
    const before = [ufrag(atAlice.localDescription), ufrag(atBob.localDescription)];
    overrides.iceConnectionState = 'disconnected';
    proxy.drop();
    await nextEvent(client, 'login', 10_000);
    // Had the resume made alice restart ICE, her offer would be queued before she handles bob's, so
    // bob's own restart is the barrier: once it completed, any offer of hers would have reached him.
    expect([ufrag(atAlice.localDescription), ufrag(atBob.localDescription)]).toEqual(before);
    expect(bob.calls.restartIce('alice')).toBe(true);
    await until(() => restarted(atBob, atAlice, [before[1], before[0]]), 'the restart bob started', 20_000);
    expect(offers).toEqual(['alice']);
    expect(closed).toEqual([]);
  });

  it('a connection that fails restarts ICE once instead of closing; failing again before it connects closes it', async () => {
    const { calls, closed, offers, atAlice, atBob, overrides } = await call(true);
    const before = [ufrag(atAlice.localDescription), ufrag(atBob.localDescription)];
    const changed = (state: string) => {
      overrides.connectionState = state;
      (atAlice.onconnectionstatechange as () => void)();
      overrides.connectionState = undefined;
    };
    changed('failed');
    await until(() => restarted(atAlice, atBob, before), 'the ICE restart to complete', 20_000);
    expect(offers).toEqual(['alice', 'alice']);
    expect(closed).toEqual([]);

    // It connected again; then two failures with no connection in between.
    changed('connected');
    changed('failed');
    changed('failed');
    expect(closed).toEqual([{ peer: 'bob', reason: 'failed' }]);
    expect(calls.get('bob')).toBeUndefined();
  });

  it('with iceRestart: false a failed connection closes at once, as before', async () => {
    const { closed, atAlice, overrides } = await call(false);
    overrides.connectionState = 'failed';
    (atAlice.onconnectionstatechange as () => void)();
    expect(closed).toEqual([{ peer: 'bob', reason: 'failed' }]);
  });
});

describe('a server that restarts without its state (no backplane): calls go on and ICE restarts once both are back', () => {
  const peers = new WebRtcPeers();
  afterAll(async () => {
    await peers.dispose();
  });

  it('keeps a connected call when the hub answers peer-not-found (the partner is not back yet), takes the unanswered offer back, and restarts later', async () => {
    const first = await startHubServer();
    const second = await startHubServer();
    try {
      const urls = [first.url, second.url];
      const alice = await peers.peer('alice', urls, { drainReconnectWindow: 50 });
      const bob = await peers.peer('bob', urls, { drainReconnectWindow: 1500, random: () => 1 });
      const link = await peers.connect(alice, bob);
      // The first server restarts (drained at once, 4503; what it held is lost): both move to the second,
      // which has never heard of them; alice first.
      await first.hub.drain({ timeout: 0 });
      await first.close();
      await until(() => alice.client.state === 'logged-in', 'alice on the second server', 10_000);
      expect(alice.client.url).toBe(second.url);
      expect(bob.client.state).toBe('reconnecting');

      const atAlice = alice.calls.get('bob')!;
      const atBob = bob.calls.get('alice')!;
      const before = [ufrag(atAlice.localDescription), ufrag(atBob.localDescription)];
      const notFound = nextEvent(alice.client, 'error', 5000);
      expect(alice.calls.restartIce('bob')).toBe(true);
      expect(await notFound).toMatchObject({ code: 'peer-not-found', target: 'bob', request: 'offer' });
      // Connected peer to peer: the call stays, and the offer nobody will answer is rolled back.
      await until(() => atAlice.signalingState === 'stable', 'the offer to be rolled back');
      expect(alice.closed).toEqual([]);

      await until(() => bob.client.state === 'logged-in', 'bob on the second server', 10_000);
      expect(alice.leaves).toEqual([]);
      expect(bob.leaves).toEqual([]);
      await restartIce(alice, bob);
      expect(ufrag(atAlice.localDescription)).not.toBe(before[0]);
      const got = new Promise<string>((resolve) =>
        link.incoming.addEventListener('message', (e) => resolve(String(e.data)), { once: true }),
      );
      link.outgoing.send('still talking');
      expect(await got).toBe('still talking');
      expect([...alice.closed, ...bob.closed]).toEqual([]);
    } finally {
      await peers.closeAll();
      await first.close();
      await second.close();
    }
  });
});
