import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SignallingHub } from '../../src/index.js';
import { attach } from '../../src/ws.js';
import { TestClient } from '../helpers/test-client.js';

/**
 * The most common way to add a WebSocket endpoint: `new WebSocketServer({
 * server, path })`. ws then answers 400 to every upgrade of another path
 * (#17 item 16): created after attach() it wrote its 400 after the hub's 101
 * (clients failed with "RSV1 must be clear"), created before it refused the
 * hub's path.
 */
describe('attach() beside a ws WebSocketServer({ server, path }) on one http.Server', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An echo client of the host's own endpoint: resolves with the echo of `text`. */
  function echo(url: string, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      socket.once('open', () => socket.send(text));
      socket.once('message', (data: Buffer) => {
        resolve(data.toString());
        socket.close();
      });
    });
  }

  for (const order of ['ws server first', 'attach() first'] as const) {
    it(`serves both paths with ${order}, over several connections of each`, async () => {
      const server = createServer();
      const hub = new SignallingHub();
      const start = () => {
        const chat = new WebSocketServer({ server, path: '/chat' });
        chat.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(`echo ${data.toString()}`)));
        cleanups.push(() => new Promise((resolve) => chat.close(resolve)));
      };
      const attachHub = () => {
        const attachment = attach(hub, server, { path: '/signalling' });
        cleanups.push(() => attachment.close());
      };
      if (order === 'ws server first') {
        start();
        attachHub();
      } else {
        attachHub();
        start();
      }
      cleanups.push(() => hub.close());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      const { port } = server.address() as AddressInfo;

      for (let round = 0; round < 3; round++) {
        const alice = await TestClient.connect(`ws://127.0.0.1:${port}/signalling`);
        const bob = await TestClient.connect(`ws://127.0.0.1:${port}/signalling?token=x`);
        expect(await alice.login(`alice${round}`)).toMatchObject({ success: true });
        expect(await bob.login(`bob${round}`)).toMatchObject({ success: true });
        alice.send({ type: 'offer', name: `bob${round}`, offer: { type: 'offer', sdp: 'v=0' } });
        expect(await bob.next((frame) => frame.type === 'offer')).toMatchObject({ name: `alice${round}` });
        expect(await echo(`ws://127.0.0.1:${port}/chat`, `hi ${round}`)).toBe(`echo hi ${round}`);
        alice.close();
        bob.close();
      }
    });
  }
});
