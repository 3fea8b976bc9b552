import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketIoServer } from 'socket.io';
import { io as connectSocketIo } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { SignallingHub } from '../../src/index.js';
import { attach } from '../../src/ws.js';
import { TestClient } from '../helpers/test-client.js';

/** PeerJS's `ws({ server, path })` answers 400 to every other upgrade and broke socket.io beside it (peers/peerjs#940). */
describe('attach() beside socket.io on one http.Server', () => {
  it('serves its path while socket.io keeps its WebSocket transport', async () => {
    const server = createServer();
    const hub = new SignallingHub();
    // Attached first, so it sees socket.io's upgrades before socket.io does.
    const attachment = attach(hub, server, { path: '/signalling' });
    const socketIo = new SocketIoServer(server);
    socketIo.on('connection', (socket) =>
      socket.on('ping-me', (text: string, reply: (answer: string) => void) => reply(`pong ${text}`)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    const client = connectSocketIo(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
    const answer = await new Promise<string>((resolve, reject) => {
      client.on('connect_error', reject);
      client.on('connect', () => client.emit('ping-me', 'hi', resolve));
    });
    expect(answer).toBe('pong hi');

    const peer = await TestClient.connect(`ws://127.0.0.1:${port}/signalling`);
    expect(await peer.login('beside-socket-io')).toMatchObject({ success: true });
    expect(client.connected).toBe(true);

    client.close();
    await attachment.close();
    await hub.close();
    await socketIo.close();
  });
});
