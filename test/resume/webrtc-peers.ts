import wrtc from '@roamhq/wrtc';
import { expect } from 'vitest';
import WebSocket from 'ws';
import {
  type ErrorMessage,
  type PeerCloseReason,
  PeerConnectionManager,
  SignallingClient,
  type SignallingClientOptions,
} from '../../src/client.js';
import type { CliProcess } from '../helpers/cli-process.js';
import { until } from '../helpers/events.js';
import { sleep } from '../helpers/time.js';

/** A SignallingClient and its PeerConnectionManager driving real libwebrtc connections, with what they saw. */
export interface CallPeer {
  name: string;
  client: SignallingClient;
  calls: PeerConnectionManager<RTCPeerConnection>;
  /** Signalling as this peer saw it, in order: `close <code>`, `login resumed|fresh`, `offer <from>`, `answer <from>`, `leave <from>`. */
  log: string[];
  /** `leave` messages heard (sender names). */
  leaves: string[];
  closed: Array<{ peer: string; reason: PeerCloseReason }>;
  errors: ErrorMessage[];
}

/** The two ends of a call's data channel. */
export interface Link {
  caller: CallPeer;
  callee: CallPeer;
  outgoing: RTCDataChannel;
  incoming: RTCDataChannel;
}

function opened(channel: RTCDataChannel, timeoutMs = 15_000): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`channel ${channel.label} did not open`)), timeoutMs);
    channel.addEventListener('open', () => (clearTimeout(timer), resolve()), { once: true });
    channel.addEventListener('close', () => reject(new Error(`channel ${channel.label} closed before opening`)), {
      once: true,
    });
  });
}

/** The ICE username fragment of a description. */
export function ufrag(description: RTCSessionDescription | null): string | undefined {
  return /a=ice-ufrag:(\S+)/.exec(description?.sdp ?? '')?.[1];
}

/**
 * Peers in real WebRTC calls. Every RTCPeerConnection is kept referenced until
 * `dispose()` (at the end of the file): libwebrtc's threads may still call into
 * a closed one for a moment, and a native object collected meanwhile can crash
 * the process.
 */
export class WebRtcPeers {
  readonly keptAlive: RTCPeerConnection[] = [];
  private readonly peers: CallPeer[] = [];

  async peer(name: string, url: string | string[], options: SignallingClientOptions = {}): Promise<CallPeer> {
    const client = new SignallingClient(url, { WebSocket, ...options });
    const calls = new PeerConnectionManager(client, { RTCPeerConnection: wrtc.RTCPeerConnection });
    const created: CallPeer = { name, client, calls, log: [], leaves: [], closed: [], errors: [] };
    calls.on('connection', ({ connection }) => this.keptAlive.push(connection));
    calls.on('closed', (event) => created.closed.push(event));
    client.on('close', ({ code }) => created.log.push(`close ${code}`));
    client.on('login', ({ resumed }) => created.log.push(`login ${resumed ? 'resumed' : 'fresh'}`));
    client.on('offer', ({ from }) => created.log.push(`offer ${from}`));
    client.on('answer', ({ from }) => created.log.push(`answer ${from}`));
    client.on('leave', ({ from }) => {
      created.log.push(`leave ${from}`);
      created.leaves.push(from);
    });
    client.on('error', (error) => created.errors.push(error));
    this.peers.push(created);
    await client.login(name);
    return created;
  }

  /** `caller` calls `callee`; resolves once both ends of a "chat" channel are open and connected. */
  async connect(caller: CallPeer, callee: CallPeer): Promise<Link> {
    const incoming = new Promise<RTCDataChannel>((resolve) => {
      callee.calls.on('datachannel', ({ peer, channel }) => {
        if (peer === caller.name) resolve(channel);
      });
    });
    const outgoing = caller.calls.call(callee.name).createDataChannel('chat');
    const channel = await incoming;
    await Promise.all([opened(outgoing), opened(channel)]);
    return { caller, callee, outgoing, incoming: channel };
  }

  /** Hangs up and closes every peer made since the last call (their connections stay referenced). */
  async closeAll(): Promise<void> {
    for (const peer of this.peers.splice(0)) {
      peer.calls.close();
      await peer.client.close();
    }
  }

  /** At the end of the file: closes every connection and lets libwebrtc's threads wind down. */
  async dispose(): Promise<void> {
    await this.closeAll();
    for (const connection of this.keptAlive) connection.close();
    await sleep(500);
    this.keptAlive.length = 0;
  }
}

/**
 * Numbered messages both ways over a call's data channel every `everyMs`, for
 * as long as it runs: `stop()` waits until everything sent has arrived and
 * checks that each side received every number, in order, and that the channel
 * was open at every tick.
 */
export function flow(link: Link, everyMs = 50) {
  const directions = [
    { from: link.outgoing, to: link.incoming, sent: 0, notOpen: 0, received: [] as number[] },
    { from: link.incoming, to: link.outgoing, sent: 0, notOpen: 0, received: [] as number[] },
  ];
  for (const direction of directions) {
    direction.to.addEventListener('message', (event) => direction.received.push(Number(event.data)));
  }
  const timer = setInterval(() => {
    for (const direction of directions) {
      if (direction.from.readyState !== 'open') {
        direction.notOpen++;
        continue;
      }
      direction.from.send(String(direction.sent++));
    }
  }, everyMs);
  return {
    /** Messages sent so far, both ways together. */
    get sent(): number {
      return directions[0]!.sent + directions[1]!.sent;
    },
    /** Messages received so far, both ways together. */
    get received(): number {
      return directions[0]!.received.length + directions[1]!.received.length;
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      for (const direction of directions) {
        await until(() => direction.received.length >= direction.sent, 'every message to arrive', 10_000);
        expect(direction.notOpen).toBe(0);
        expect(direction.received).toEqual(Array.from({ length: direction.sent }, (_, i) => i));
      }
    },
  };
}

/**
 * Restarts ICE from `from` to `to` through the hub and waits until it
 * completed: an offer and an answer went through the hub, both sides have new
 * ICE credentials that match each other, are stable, and connected again.
 */
export async function restartIce(from: CallPeer, to: CallPeer): Promise<void> {
  const local = from.calls.get(to.name)!;
  const remote = to.calls.get(from.name)!;
  const before = [ufrag(local.localDescription), ufrag(remote.localDescription)];
  const offers = to.log.filter((line) => line === `offer ${from.name}`).length;
  const answers = from.log.filter((line) => line === `answer ${to.name}`).length;
  expect(from.calls.restartIce(to.name)).toBe(true);
  await until(() => restarted(local, remote, before), `the ICE restart from ${from.name} to ${to.name}`, 20_000);
  await until(
    () => [local, remote].every((pc) => pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed'),
    'ICE to connect again',
    20_000,
  );
  expect(to.log.filter((line) => line === `offer ${from.name}`).length).toBe(offers + 1);
  expect(from.log.filter((line) => line === `answer ${to.name}`).length).toBe(answers + 1);
}

/** Whether both sides went through an ICE restart since their ufrags were `before`. */
export function restarted(local: RTCPeerConnection, remote: RTCPeerConnection, before: Array<string | undefined>): boolean {
  return (
    local.signalingState === 'stable' &&
    remote.signalingState === 'stable' &&
    ufrag(local.localDescription) !== before[0] &&
    ufrag(remote.localDescription) !== before[1] &&
    ufrag(local.remoteDescription) === ufrag(remote.localDescription) &&
    ufrag(remote.remoteDescription) === ufrag(local.localDescription)
  );
}

/** The JSON log lines of a CLI process started with `--log-format json`. */
export function logLines(node: CliProcess): Array<Record<string, unknown>> {
  return node
    .lines()
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
