import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { RawWsClient } from '../helpers/raw-ws.js';
import { TestClient } from '../helpers/test-client.js';

const { frame } = RawWsClient;
const json = (message: object) => frame(JSON.stringify(message));

/**
 * The adapter reads plain text frames itself and hands every other frame to ws: whatever the
 * framing, the hub answers as ws alone would, and the other peers keep being served.
 */
describe('frames on the wire', () => {
  let hub: HubServer;
  let partner: TestClient;
  beforeAll(async () => {
    hub = await startHubServer();
    partner = await TestClient.connect(hub.url);
    await partner.login('partner');
  });
  afterAll(async () => {
    await hub.close();
  });

  /** A raw client logged in as `name`. */
  async function rawPeer(name: string): Promise<RawWsClient> {
    const client = await RawWsClient.connect(hub.port);
    client.write(json({ type: 'login', name }));
    expect(await client.nextJson()).toMatchObject({ type: 'login', success: true });
    return client;
  }

  async function partnerStillServed(): Promise<void> {
    const other = await TestClient.connect(hub.url);
    await other.login(`other-${Math.random()}`);
    other.send({ type: 'candidate', candidate: 'still-here', name: 'partner' });
    expect(await partner.nextOf('candidate')).toMatchObject({ candidate: 'still-here' });
    other.socket.close();
  }

  it('reads frames cut at every byte and many frames in one segment, in order', async () => {
    const client = await RawWsClient.connect(hub.port);
    await client.trickle(json({ type: 'login', name: 'trickler' }));
    expect(await client.nextJson()).toMatchObject({ success: true, name: 'trickler' });
    const big = 'a'.repeat(300); // a 16-bit length, cut inside its header too
    await client.trickle(json({ type: 'candidate', candidate: big, name: 'partner' }));
    expect(await partner.nextOf('candidate')).toEqual({ type: 'candidate', candidate: big, name: 'trickler' });
    client.write(Buffer.concat([1, 2, 3, 4, 5].map((i) => json({ type: 'candidate', candidate: i, name: 'partner' }))));
    for (const i of [1, 2, 3, 4, 5]) expect(await partner.nextOf('candidate')).toMatchObject({ candidate: i });
    client.socket.destroy();
  });

  it.each([
    // Reassembled by the adapter.
    ['a few', 5],
    // Past 64 reads for one frame, ws reads the connection from there on.
    ['hundreds of', 400],
  ])('reassembles a large frame that arrives in %s pieces, and reads on', async (_label, pieces) => {
    const name = `pieces-${pieces}`;
    const client = await rawPeer(name);
    const sdp = 'v=0\r\n' + 'a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n'.repeat(600);
    const bytes = json({ type: 'offer', offer: { type: 'offer', sdp }, name: 'partner' });
    expect(bytes.length).toBeGreaterThan(30_000);
    const size = Math.ceil(bytes.length / pieces);
    for (let at = 0; at < bytes.length; at += size) {
      client.write(bytes.subarray(at, at + size));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(await partner.nextOf('offer')).toEqual({ type: 'offer', offer: { type: 'offer', sdp }, name });
    client.write(json({ type: 'candidate', candidate: 'next', name: 'partner' }));
    expect(await partner.nextOf('candidate')).toMatchObject({ candidate: 'next', name });
    client.socket.destroy();
  });

  it('unmasks with any mask, a zero one included', async () => {
    const client = await rawPeer('masks');
    for (const mask of [Buffer.of(0, 0, 0, 0), Buffer.of(0xff, 0x01, 0x80, 0x7f)]) {
      client.write(frame(JSON.stringify({ type: 'candidate', candidate: 'Zoë 🦊 ok', name: 'partner' }), { mask }));
      expect(await partner.nextOf('candidate')).toMatchObject({ candidate: 'Zoë 🦊 ok', name: 'masks' });
    }
    client.socket.destroy();
  });

  it('answers pings and relays fragmented messages, then goes on reading plain frames', async () => {
    const client = await rawPeer('fragments');
    client.write(frame('hello?', { opcode: 9 }));
    expect(await client.next()).toEqual({ opcode: 10, payload: Buffer.from('hello?') });
    const text = JSON.stringify({ type: 'candidate', candidate: 'in-three-parts', name: 'partner' });
    client.write(
      Buffer.concat([
        frame(text.slice(0, 10), { first: 0x01 }),
        frame(text.slice(10, 20), { first: 0x00 }),
        frame('ping in between', { opcode: 9 }),
        frame(text.slice(20), { first: 0x80 }),
        json({ type: 'candidate', candidate: 'after', name: 'partner' }),
      ]),
    );
    expect(await partner.nextOf('candidate')).toMatchObject({ candidate: 'in-three-parts' });
    expect(await partner.nextOf('candidate')).toMatchObject({ candidate: 'after' });
    expect(await client.next()).toMatchObject({ opcode: 10 });
    client.socket.destroy();
  });

  it('answers a binary frame with an error and keeps the connection', async () => {
    const client = await rawPeer('binary');
    client.write(frame(Buffer.from('{}'), { opcode: 2 }));
    expect(await client.nextJson()).toMatchObject({ type: 'error', code: 'binary-not-supported' });
    client.write(json({ type: 'candidate', candidate: 'then-text', name: 'partner' }));
    expect(await partner.nextOf('candidate')).toMatchObject({ candidate: 'then-text' });
    client.socket.destroy();
  });

  it.each([
    ['invalid UTF-8', () => frame(Buffer.of(0x7b, 0xc3, 0x28, 0x7d)), 1007],
    ['an unmasked frame', () => frame('{}', { mask: Buffer.alloc(0) }), 1002],
    ['RSV1 without an extension', () => frame('{}', { first: 0xc1 }), 1002],
    ['a continuation with nothing to continue', () => frame('{}', { first: 0x80 }), 1002],
    ['a reserved opcode', () => frame('{}', { opcode: 3 }), 1002],
    ['a control frame over 125 bytes', () => frame('x'.repeat(126), { opcode: 9 }), 1002],
    ['a 64-bit length', () => frame('x'.repeat(70_000)), 1009],
  ])('closes on %s with the code ws gives, names freed, others served', async (_label, bad, code) => {
    const name = `bad-${code}-${Math.random()}`;
    const client = await rawPeer(name);
    // A valid relay in the same segment, before the bad frame, still goes through.
    client.write(Buffer.concat([json({ type: 'candidate', candidate: 'before', name: 'partner' }), bad()]));
    expect(await partner.nextOf('candidate')).toMatchObject({ candidate: 'before', name });
    expect(await client.closeCode()).toBe(code);
    await client.ended;
    await partnerStillServed();
    const again = await TestClient.connect(hub.url);
    expect(await again.login(name)).toMatchObject({ success: true });
    again.socket.close();
  });

  it.each([
    ['a reserved opcode', [0x83, 0x80 | 126]],
    ['RSV1 without an extension', [0xc1, 0x80 | 126]],
    ['RSV2 and RSV3', [0xb1, 0x80 | 126]],
    ['an unmasked frame', [0x81, 126]],
    ['a continuation with nothing to continue', [0x80, 0x80 | 126]],
    ['a reserved control opcode', [0x8b, 0x80 | 126]],
    ['a control frame with a 16-bit length', [0x89, 0x80 | 126]],
  ])('closes with 1002 on %s as soon as the first two header bytes arrive', async (_label, header) => {
    const client = await rawPeer(`two-bytes-${header.join('-')}`);
    // The 16-bit length marker, and the stream stops before the length bytes: ws knows enough already.
    client.write(Buffer.from(header));
    expect(await client.closeCode(2000)).toBe(1002);
    await client.ended;
  });

  it('completes the close handshake and ignores what follows a close frame', async () => {
    const client = await rawPeer('closer');
    const close = Buffer.alloc(2);
    close.writeUInt16BE(1000);
    client.write(Buffer.concat([frame(close, { opcode: 8 }), json({ type: 'candidate', candidate: 'late', name: 'partner' })]));
    expect(await client.closeCode()).toBe(1000);
    await client.ended;
    // A relay sent after the close arrives; "late" never did.
    await partnerStillServed();
    expect(partner.inbox.filter((f) => f.candidate === 'late')).toEqual([]);
  });

  it('lets ws finish the close when the hub closes in the middle of a segment', async () => {
    const limited = await startHubServer({ rateLimit: { messagesPerSecond: 1, burst: 2 } });
    try {
      const client = await RawWsClient.connect(limited.port);
      const flood = Array.from({ length: 10 }, () => json({ type: 'login', name: 'x'.repeat(500) }));
      const close = Buffer.alloc(2);
      close.writeUInt16BE(1000);
      client.write(Buffer.concat([...flood, frame(close, { opcode: 8 })]));
      expect(await client.closeCode()).toBe(4429);
      // ws read our close frame after the hub's, so the socket ends now, not after ws's 30-s close timeout.
      await client.ended;
      await vi.waitFor(() => expect(limited.attachment.connections).toBe(0), { timeout: 2000 });
    } finally {
      await limited.close();
    }
  });
});
