import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

/** A Node program without the DOM library: it must compile against `signalling-hub/client`'s declarations. */
const nodeProgram = `
import { PeerConnectionManager, SignallingClient, type PeerConnectionLike, type WebSocketLike } from 'signalling-hub/client';

class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  constructor(readonly url: string) {}
  send(_data: string): void {}
  close(): void {}
  addEventListener(_type: 'open' | 'message' | 'close' | 'error', _listener: (event: object) => void): void {}
}

export async function main(RTCPeerConnection: new () => PeerConnectionLike): Promise<void> {
  const client = new SignallingClient('ws://127.0.0.1:9090/', { WebSocket: FakeWebSocket, sendRate: { messagesPerSecond: 50, burst: 50 } });
  client.on('offer', ({ from, offer }) => console.log(from, offer.type, offer.sdp));
  client.on('dropped', ({ type, to }) => console.log(type, to));
  await client.login('alice');
  const calls = new PeerConnectionManager(client, { RTCPeerConnection, configuration: { iceServers: [{ urls: 'stun:stun.example.org' }] } });
  calls.on('datachannel', ({ peer, channel }) => (channel.onmessage = (event) => console.log(peer, event.data)));
  calls.on('state', ({ state }) => console.log(state.toUpperCase()));
  const chat = calls.call('bob').createDataChannel('chat');
  chat.onopen = () => chat.send('hello');
  // @ts-expect-error -- the connection is typed, not any
  const wrong: number = calls.get('bob');
  console.log(wrong);
  await client.close();
}
`;

/** The same in CommonJS, through the \`require\` condition (dist/client.d.cts). */
const cjsProgram = `
import hub = require('signalling-hub/client');
export const client = new hub.SignallingClient('ws://127.0.0.1:9090/');
export const defaults: number = hub.clientDefaults.maxOutboxMessages;
`;

/** A browser program (DOM library): the manager takes and hands back the DOM's own WebRTC types. */
const domProgram = `
import { PeerConnectionManager, SignallingClient } from 'signalling-hub/client';

const client = new SignallingClient('wss://example.org/');
const configuration: RTCConfiguration = { iceServers: [{ urls: 'stun:stun.example.org' }] };
const calls = new PeerConnectionManager(client, { RTCPeerConnection, configuration });
const connection: RTCPeerConnection = calls.call('bob');
const channel: RTCDataChannel = connection.createDataChannel('chat');
channel.addEventListener('open', () => channel.send('hi'));
calls.on('connection', ({ connection }) => connection.addTrack(new MediaStreamTrack(), new MediaStream()));
calls.on('datachannel', ({ channel }) => {
  const dom: RTCDataChannel = channel;
  console.log(dom.bufferedAmount);
});
calls.on('track', ({ track, streams }) => {
  const dom: MediaStreamTrack = track;
  const all: readonly MediaStream[] = streams;
  console.log(dom.enabled, all.length);
});
calls.on('state', ({ state }) => {
  const dom: RTCPeerConnectionState = state;
  console.log(dom);
});
const byDefault = new PeerConnectionManager(client);
const same: RTCPeerConnection | undefined = byDefault.get('bob');
console.log(same);
`;

function tsconfig(lib: string[], types: string[], files: string[]): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib,
      types,
      typeRoots: [join(root, 'node_modules/@types')],
      strict: true,
      noEmit: true,
      // The point: the library's own .d.ts files are checked too.
      skipLibCheck: false,
    },
    files,
  });
}

async function typecheck(project: string): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', project], { cwd: dirname(project) });
    return '';
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}` || String(error);
  }
}

/**
 * The client's declarations, built as `npm run build` builds them (tsup, the
 * project's tsconfig), into a private fixture package: building into dist/
 * would pull it away from tests running meanwhile. The fixture imports
 * `signalling-hub/client` through the package's real `exports` entry.
 */
describe('signalling-hub/client declarations', () => {
  let fixture: string;

  beforeAll(async () => {
    fixture = mkdtempSync(join(tmpdir(), 'signalling-hub-client-types-'));
    const pkg = join(fixture, 'node_modules/signalling-hub');
    await build({
      entry: { client: join(root, 'src/client.ts') },
      outDir: join(pkg, 'dist'),
      format: ['esm', 'cjs'],
      dts: { only: true },
      tsconfig: join(root, 'tsconfig.json'),
      silent: true,
      config: false,
    });
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'signalling-hub', type: 'module', exports: { './client': manifest.exports['./client'] } }),
    );
    mkdirSync(join(fixture, 'node_modules'), { recursive: true });
    symlinkSync(join(root, 'node_modules/eventemitter3'), join(fixture, 'node_modules/eventemitter3'), 'dir');
    writeFileSync(join(fixture, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(fixture, 'node.ts'), nodeProgram);
    writeFileSync(join(fixture, 'node-cjs.cts'), cjsProgram);
    writeFileSync(join(fixture, 'dom.ts'), domProgram);
    writeFileSync(join(fixture, 'tsconfig.node.json'), tsconfig(['ES2022'], ['node'], ['node.ts', 'node-cjs.cts']));
    writeFileSync(join(fixture, 'tsconfig.dom.json'), tsconfig(['ES2022', 'DOM'], [], ['dom.ts']));
  }, 60_000);

  afterAll(() => {
    if (fixture !== undefined) rmSync(fixture, { recursive: true, force: true });
  });

  it('type-check in a Node project without the DOM library (lib ES2022, types node), ESM and CommonJS', async () => {
    const declarations = readFileSync(join(fixture, 'node_modules/signalling-hub/dist/client.d.ts'), 'utf8');
    expect(declarations).toMatch(/declare class PeerConnectionManager/);
    expect(await typecheck(join(fixture, 'tsconfig.node.json'))).toBe('');
  }, 60_000);

  it('hand back the DOM types in a browser project', async () => {
    expect(await typecheck(join(fixture, 'tsconfig.dom.json'))).toBe('');
  }, 60_000);
});
