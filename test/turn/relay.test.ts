import { randomBytes } from 'node:crypto';
import wrtc from '@roamhq/wrtc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type IceServer, PeerConnectionManager, SignallingClient } from '../../src/client.js';
import { Coturn } from '../helpers/coturn.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';

/** A logged-in client and its manager, relay only, with no ICE servers of its own. */
interface Peer {
  name: string;
  client: SignallingClient;
  calls: PeerConnectionManager<RTCPeerConnection>;
  /** The candidates this peer received from the other side, through the hub. */
  received: string[];
}

/** The unix second after which a TURN REST username (`<expiry>:<name>`) is refused. */
function expiryOf(servers: IceServer[] | undefined): number {
  return Number(servers![0]!.username!.split(':')[0]);
}

function opened(channel: RTCDataChannel, timeoutMs = 15000): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`channel ${channel.label} did not open`)), timeoutMs);
    channel.addEventListener('open', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

function nextMessage(channel: RTCDataChannel, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${channel.label}`)), timeoutMs);
    channel.addEventListener('message', (event) => (clearTimeout(timer), resolve(String(event.data))), { once: true });
  });
}

type Stats = Record<string, unknown> & { type: string; id: string };

/** The selected candidate pair's local and remote candidates, from getStats(). */
async function selectedPair(connection: RTCPeerConnection): Promise<{ local: Stats; remote: Stats }> {
  const reports = new Map<string, Stats>();
  (await connection.getStats()).forEach((report: Stats) => reports.set(report.id, report));
  const transport = [...reports.values()].find((report) => report.type === 'transport' && report.selectedCandidatePairId);
  const pair = reports.get(transport?.selectedCandidatePairId as string);
  expect(pair).toMatchObject({ type: 'candidate-pair', state: 'succeeded' });
  return { local: reports.get(pair!.localCandidateId as string)!, remote: reports.get(pair!.remoteCandidateId as string)! };
}

describe('TURN through a real coturn, with credentials from the hub', () => {
  const secret = `coturn-${randomBytes(12).toString('hex')}`;
  let coturn: Coturn;
  const servers: HubServer[] = [];
  const peers: Peer[] = [];
  /**
   * Every RTCPeerConnection, kept until the file ends: libwebrtc's threads may still call into a
   * closed connection for a moment, and a native object collected meanwhile can crash the process.
   */
  const keptAlive: RTCPeerConnection[] = [];

  beforeAll(async () => {
    coturn = await Coturn.start({ secret });
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) {
      peer.calls.close();
      await peer.client.close();
    }
    await Promise.all(servers.splice(0).map((server) => server.close()));
    for (const connection of keptAlive) connection.close();
  });
  afterAll(async () => {
    await coturn?.stop();
    for (const connection of keptAlive) connection.close();
    // Let libwebrtc's threads wind down before the worker process exits.
    await new Promise((resolve) => setTimeout(resolve, 500));
    keptAlive.length = 0;
  });

  /** A hub that issues credentials for coturn, signed with `withSecret`. */
  async function hub(withSecret: string, ttl?: number): Promise<HubServer> {
    const server = await startHubServer({ turn: { secret: withSecret, urls: [coturn.url], ttl } });
    servers.push(server);
    return server;
  }

  async function peer(server: HubServer, name: string): Promise<Peer> {
    const client = new SignallingClient(server.url, { WebSocket });
    // Relay only, and no servers of its own: whatever connects, connects through what the hub handed out.
    const calls = new PeerConnectionManager(client, {
      RTCPeerConnection: wrtc.RTCPeerConnection,
      configuration: { iceTransportPolicy: 'relay' },
    });
    const created: Peer = { name, client, calls, received: [] };
    calls.on('connection', ({ connection }) => keptAlive.push(connection));
    client.on('candidate', ({ candidate }) => created.received.push(candidate?.candidate ?? 'null'));
    peers.push(created);
    await client.login(name);
    return created;
  }

  /** `caller` calls `callee` with a "chat" channel; resolves with both ends once they are open. */
  async function connect(caller: Peer, callee: Peer): Promise<{ outgoing: RTCDataChannel; incoming: RTCDataChannel }> {
    const incoming = new Promise<RTCDataChannel>((resolve) => {
      callee.calls.on('datachannel', ({ peer, channel }) => peer === caller.name && resolve(channel));
    });
    const outgoing = caller.calls.call(callee.name).createDataChannel('chat');
    const channel = await incoming;
    await Promise.all([opened(outgoing), opened(channel)]);
    return { outgoing, incoming: channel };
  }

  async function exchange(outgoing: RTCDataChannel, incoming: RTCDataChannel): Promise<void> {
    const there = nextMessage(incoming);
    outgoing.send('through the relay');
    expect(await there).toBe('through the relay');
    const back = nextMessage(outgoing);
    incoming.send('and back');
    expect(await back).toBe('and back');
  }

  /** Both ends of the call use relay candidates of this coturn. */
  async function expectRelayed(caller: Peer, callee: Peer): Promise<void> {
    for (const [from, to] of [
      [caller, callee],
      [callee, caller],
    ] as const) {
      const { local, remote } = await selectedPair(from.calls.get(to.name)!);
      expect(local.candidateType).toBe('relay');
      expect(local.url).toBe(coturn.url);
      expect(remote.candidateType).toBe('relay');
      expect(local.port).toBeGreaterThanOrEqual(coturn.relayPorts.min);
      expect(local.port).toBeLessThanOrEqual(coturn.relayPorts.max);
    }
    // Only relay candidates were signalled (a relay-only agent gathers nothing else).
    for (const peer of [caller, callee]) {
      expect(peer.received.length).toBeGreaterThan(0);
      for (const candidate of peer.received) expect(candidate).toMatch(/ typ relay /);
    }
  }

  /** Waits (bounded) until coturn's log, from offset `from`, shows it refused `username`. */
  async function refused(username: string, from: number): Promise<void> {
    const line = `check_stun_auth: Cannot find credentials of user <${username}>`;
    await until(() => coturn.log.slice(from).includes(line), `coturn to log that it refused ${username}`);
  }

  /**
   * Gathers with `servers`, relay only, until gathering completes (bounded by
   * `timeoutMs`); resolves with the relay candidates found.
   */
  async function gatherRelay(iceServers: IceServer[], timeoutMs = 15000): Promise<string[]> {
    const connection = new wrtc.RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
    keptAlive.push(connection);
    const found: string[] = [];
    const complete = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gathering did not complete within ${timeoutMs} ms`)), timeoutMs);
      connection.onicecandidate = ({ candidate }) => {
        if (candidate === null) {
          clearTimeout(timer);
          resolve();
        } else if (/ typ relay /.test(candidate.candidate)) found.push(candidate.candidate);
      };
    });
    connection.createDataChannel('probe');
    await connection.setLocalDescription(await connection.createOffer());
    try {
      await complete;
    } finally {
      connection.close();
    }
    return found;
  }

  it('two peers configured only from the login reply connect through coturn and chat over relay candidates', async () => {
    const server = await hub(secret);
    const alice = await peer(server, 'alice');
    const bob = await peer(server, 'bob');
    for (const { client, name } of [alice, bob]) {
      const [given, ...more] = client.iceServers!;
      expect(more).toEqual([]);
      expect(given!.urls).toEqual([coturn.url]);
      expect(given!.username).toMatch(new RegExp(`^\\d+:${name}$`));
      expect(typeof given!.credential).toBe('string');
    }
    const { outgoing, incoming } = await connect(alice, bob);
    // Each connection holds exactly what its client got at login: relay only, with the hub's credentials.
    for (const [from, to] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const configuration = from.calls.get(to.name)!.getConfiguration();
      expect(configuration.iceTransportPolicy).toBe('relay');
      expect(configuration.iceServers).toEqual([expect.objectContaining(from.client.iceServers![0])]);
    }
    await exchange(outgoing, incoming);
    await expectRelayed(alice, bob);
  });

  it('with a hub that signs with the wrong secret, coturn refuses the allocation and the peers cannot connect', async () => {
    const server = await hub(`not-${secret}`);
    const alice = await peer(server, 'alice');
    const bob = await peer(server, 'bob');
    const incoming: RTCDataChannel[] = [];
    bob.calls.on('datachannel', ({ channel }) => incoming.push(channel));
    const gathered = new Promise<void>((resolve) => {
      alice.calls.on('connection', ({ connection }) =>
        connection.addEventListener('icegatheringstatechange', () => connection.iceGatheringState === 'complete' && resolve()),
      );
    });
    const outgoing = alice.calls.call('bob').createDataChannel('chat');
    const connection = alice.calls.get('bob')!;
    // Bounded: libwebrtc ends gathering once coturn has answered 401 to every attempt.
    await Promise.race([
      gathered,
      new Promise((_, reject) => setTimeout(() => reject(new Error('gathering did not complete')), 15000)),
    ]);
    await until(() => bob.calls.get('alice')?.iceGatheringState === 'complete', 'bob to finish gathering', 15000);
    // Nothing to try: no relay candidate on either side, so no connection.
    expect(alice.received).toEqual([]);
    expect(bob.received).toEqual([]);
    expect(connection.connectionState).not.toBe('connected');
    expect(outgoing.readyState).toBe('connecting');
    expect(incoming).toEqual([]);
    // coturn refused exactly these credentials.
    for (const { client } of [alice, bob]) await refused(client.iceServers![0]!.username!, 0);
  });

  it('a short TTL: fresh credentials arrive before expiry, a call after the refresh connects with them, and the expired ones are refused', async () => {
    // 10 s: the first credentials expire 9–10 s after login (the expiry is a whole second), the push comes at 8 s.
    const server = await hub(secret, 10);
    const alice = await peer(server, 'alice');
    const bob = await peer(server, 'bob');
    const atLogin = alice.client.iceServers!;
    // The login credentials work while they are valid.
    expect(await gatherRelay(atLogin)).not.toEqual([]);
    const validUntil = coturn.log.length;
    expect(coturn.log).not.toContain(atLogin[0]!.username);

    const [{ iceServers: fresh }] = await Promise.all([
      nextEvent(alice.client, 'ice-servers', 12000),
      nextEvent(bob.client, 'ice-servers', 12000),
    ]);
    // Before the first ones expire.
    expect(Date.now()).toBeLessThan(expiryOf(atLogin) * 1000);
    expect(expiryOf(fresh)).toBeGreaterThan(expiryOf(atLogin));

    // Past the login credentials' expiry (coturn refuses a username whose time is before its clock's second).
    const expired = (expiryOf(atLogin) + 1) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expired - Date.now() + 200)));
    expect(Date.now() / 1000).toBeLessThan(expiryOf(fresh));
    const { outgoing, incoming } = await connect(alice, bob);
    // The call used the refreshed credentials, not the expired ones.
    expect(alice.calls.get('bob')!.getConfiguration().iceServers).toEqual([expect.objectContaining(fresh![0])]);
    await exchange(outgoing, incoming);
    await expectRelayed(alice, bob);

    // A peer still configured with the login credentials gets no relay from coturn.
    expect(await gatherRelay(atLogin)).toEqual([]);
    await refused(atLogin[0]!.username!, validUntil);
  }, 40_000);
});
