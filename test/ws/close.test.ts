import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/index.js';
import { limitCloseReason } from '../../src/protocol/close-reason.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { RawWsClient } from '../helpers/raw-ws.js';
import { TestClient } from '../helpers/test-client.js';

const REASONS: Array<[string, string]> = [
  ['a long ASCII reason', 'x'.repeat(200)],
  ['emoji', '🦊'.repeat(40)],
  ['emoji one byte off', 'a' + '🦊'.repeat(40)],
  ['CJK', '漢字'.repeat(30)],
  ['CJK two bytes off', 'ab' + '漢'.repeat(60)],
];

/** The reason as cut on a character boundary: a prefix of the original, at most 123 bytes, no replacement character. */
function expectCut(received: string, original: string): void {
  expect(Buffer.byteLength(received)).toBeLessThanOrEqual(123);
  expect(Buffer.byteLength(received)).toBeGreaterThan(119);
  expect(original.startsWith(received)).toBe(true);
  expect(received).not.toContain('\uFFFD');
}

describe('closing a connection', () => {
  let hub: HubServer;
  afterEach(async () => {
    await hub.close();
  });

  it.each(REASONS)(
    'delivers a %s from hub.disconnect cut on a character boundary and closes the socket',
    async (_label, reason) => {
      hub = await startHubServer();
      const client = await TestClient.connect(hub.url);
      await client.login('kicked');
      const left = nextEvent(hub.hub, 'peer-left');
      expect(hub.hub.disconnect('kicked', reason)).toBe(true);
      const { code, reason: received } = await client.closed;
      expect(code).toBe(4403);
      expectCut(received, reason);
      expect(await left).toMatchObject({ name: 'kicked', reason: 'disconnected', code: 4403 });
      await until(() => hub.attachment.connections === 0, 'the socket to close');
    },
  );

  describe('through the ws transport itself', () => {
    /** Starts a hub whose transports the test can reach, as another core would drive them. */
    async function withTransports(): Promise<Transport[]> {
      hub = await startHubServer();
      const transports: Transport[] = [];
      const open = hub.hub.open.bind(hub.hub);
      hub.hub.open = (transport, info) => {
        transports.push(transport);
        return open(transport, info);
      };
      return transports;
    }

    it.each(REASONS)('cuts a %s itself and never throws', async (_label, reason) => {
      const transports = await withTransports();
      const client = await TestClient.connect(hub.url);
      await client.login('cut');
      expect(() => transports[0]!.close(4000, reason)).not.toThrow();
      const { code, reason: received } = await client.closed;
      expect(code).toBe(4000);
      expectCut(received, reason);
      expect(received).toBe(limitCloseReason(reason));
    });

    it('terminates the socket and reports it when ws refuses the close', async () => {
      const transports = await withTransports();
      const client = await TestClient.connect(hub.url);
      await client.login('refused-close');
      const error = nextEvent(hub.hub, 'error');
      const left = nextEvent(hub.hub, 'peer-left');
      // 999 is no close code ws may send: it throws.
      expect(() => transports[0]!.close(999, 'bad code')).not.toThrow();
      expect((await error).code).toBe('SH_ERR_TRANSPORT');
      expect((await client.closed).code).toBe(1006);
      expect(await left).toMatchObject({ name: 'refused-close', code: 1006 });
      expect(hub.hub.getPeer('refused-close')).toBeUndefined();
    });

    it('terminate() drops the connection without a handshake', async () => {
      const transports = await withTransports();
      const client = await TestClient.connect(hub.url);
      await client.login('terminated');
      transports[0]!.terminate!();
      expect((await client.closed).code).toBe(1006);
      await until(() => hub.hub.getPeer('terminated') === undefined, 'the name to be freed');
    });
  });

  describe.each([true, false])('with fastPath %s, the code the adapter closed with reaches peer-left', (fastPath) => {
    const { frame } = RawWsClient;

    async function rawPeer(name: string, maxMessageBytes = 1024): Promise<RawWsClient> {
      hub = await startHubServer({ maxMessageBytes }, { fastPath });
      expect(hub.attachment.fastPath).toBe(fastPath);
      const client = await RawWsClient.connect(hub.port);
      client.write(frame(JSON.stringify({ type: 'login', name })));
      expect(await client.nextJson()).toMatchObject({ type: 'login', success: true });
      return client;
    }

    it.each([
      ['a frame over maxPayload', 1009, () => frame('x'.repeat(2000))],
      ['a 64-bit length', 1009, () => frame('x'.repeat(70_000))],
      ['invalid UTF-8', 1007, () => frame(Buffer.of(0x7b, 0xc3, 0x28, 0x7d))],
      ['an unmasked frame', 1002, () => frame('{}', { mask: Buffer.alloc(0) })],
      ['a reserved opcode', 1002, () => frame('{}', { opcode: 3 })],
    ])('%s from a raw client: %i', async (label, code, bad) => {
      const name = `closed-${code}-${label.length}`;
      const client = await rawPeer(name);
      const left = nextEvent(hub.hub, 'peer-left');
      client.write(bad());
      expect(await client.closeCode()).toBe(code);
      expect(await left).toMatchObject({ name, reason: 'closed', code });
    });

    it('a frame over maxPayload from a ws client: 1009', async () => {
      hub = await startHubServer({ maxMessageBytes: 1024 }, { fastPath });
      const client = await TestClient.connect(hub.url);
      await client.login('too-big');
      const left = nextEvent(hub.hub, 'peer-left');
      client.send({ type: 'candidate', candidate: 'x'.repeat(2000), name: 'nobody' });
      expect((await client.closed).code).toBe(1009);
      expect(await left).toMatchObject({ name: 'too-big', code: 1009 });
    });

    it('a clean close by the client keeps its own code', async () => {
      hub = await startHubServer({}, { fastPath });
      const client = await TestClient.connect(hub.url);
      await client.login('leaver');
      const left = nextEvent(hub.hub, 'peer-left');
      client.socket.close(4000, 'bye');
      expect(await left).toMatchObject({ name: 'leaver', code: 4000 });
    });
  });
});
