import { afterEach, describe, expect, it } from 'vitest';
import type { PeerLeft } from '../../src/index.js';
import { nextEvent, until } from '../helpers/events.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { RawWsClient } from '../helpers/raw-ws.js';
import { type Frame, TestClient } from '../helpers/test-client.js';

const { frame } = RawWsClient;

/** An SDP-sized offer of about `bytes` bytes. */
const bigOffer = (bytes: number, index: number) => ({ type: 'offer', sdp: `${index}:`.padEnd(bytes, 'a') });

/**
 * "A fast sender must not disconnect a slow reader": the adapter reports as
 * queued only what the kernel has not taken, the core drops relays to a full
 * queue (telling the sender `peer-congested`) and closes with 4507 only a
 * queue that stays full for `slowConsumerTimeout`.
 */
describe.each([true, false])('a slow reader, fastPath %s', (fastPath) => {
  let hub: HubServer;
  let restoreNow = () => {};
  afterEach(async () => {
    restoreNow();
    await hub.close();
  });

  async function rawReader(name: string): Promise<RawWsClient> {
    const reader = await RawWsClient.connect(hub.port);
    reader.write(frame(JSON.stringify({ type: 'login', name })));
    expect(await reader.nextJson()).toMatchObject({ type: 'login', success: true });
    return reader;
  }

  it('receives a burst of more than maxBufferedBytes written in one tick when it reads', async () => {
    hub = await startHubServer({}, { fastPath });
    const reader = await TestClient.connect(hub.url);
    await reader.login('reader');
    // 20 × 60 KB to one socket in one tick: 1.2 MB, more than maxBufferedBytes (1 MiB), to a client that reads.
    const sent = Array.from({ length: 20 }, (_, i) => hub.hub.send('reader', bigOffer(60_000, i)));
    expect(await Promise.all(sent)).toEqual(Array(20).fill(true));
    for (let i = 0; i < 20; i++) expect((await reader.nextOf('offer')).sdp).toMatch(new RegExp(`^${i}:`));
    expect(reader.isOpen).toBe(true);
  });

  it('reading at ~2 MB/s, is not closed by 12 MB of offers from a fast sender; the sender hears of every dropped one', async () => {
    hub = await startHubServer({}, { fastPath });
    const reader = await rawReader('reader');
    reader.readAtMost(2_000_000);
    const sender = await TestClient.connect(hub.url);
    await sender.login('sender');
    const left: PeerLeft[] = [];
    hub.hub.on('peer-left', (event) => left.push(event));

    // 12 MB: loopback TCP buffers take about 5 MB of it here, maxBufferedBytes 1 MiB more; the rest cannot be queued.
    const count = 200;
    for (let i = 0; i < count; i++) sender.send({ type: 'offer', offer: bigOffer(60_000, i), name: 'reader' });
    const congested: Frame[] = [];
    const delivered = new Set<number>();
    const countDelivered = () => {
      for (const received of reader.frames.splice(0)) {
        if (received.opcode !== 1) continue;
        const message = JSON.parse(received.payload.toString()) as { offer: { sdp: string } };
        delivered.add(Number(message.offer.sdp.split(':')[0]));
      }
    };
    await until(
      () => {
        countDelivered();
        while (sender.inbox.length > 0) congested.push(sender.inbox.shift()!);
        return delivered.size + congested.length === count;
      },
      'every offer delivered or refused',
      15_000,
    );
    // Offers are dropped, not the reader: it got some, each of the others was answered.
    expect(delivered.size).toBeGreaterThan(0);
    expect(congested.length).toBeGreaterThan(0);
    for (const refused of congested) {
      expect(refused).toMatchObject({ type: 'error', code: 'peer-congested', request: 'offer', target: 'reader' });
    }
    expect(left).toEqual([]);
    expect(hub.hub.getPeer('reader')).toBeDefined();
    // And it is still served once it has read everything.
    sender.send({ type: 'candidate', candidate: 'after', name: 'reader' });
    await until(() => reader.frames.some((f) => f.payload.includes('"after"')), 'a relay after the burst');
  });

  it('that stops reading is closed with 4507 after slowConsumerTimeout, not before', async () => {
    hub = await startHubServer({ slowConsumerTimeout: 300 }, { fastPath });
    const reader = await rawReader('stalled');
    reader.pauseReading();
    const sender = await TestClient.connect(hub.url);
    await sender.login('sender');
    // The hub's own clock readings, not the listeners' (a millisecond may tick between the hub starting
    // its congestion clock and the event): the last `Date.now()` read before each event is the hub's.
    const realNow = Date.now.bind(Date);
    let lastNow = 0;
    Date.now = () => (lastNow = realNow());
    restoreNow = () => (Date.now = realNow);
    let congestedAt = 0;
    let leftAt = 0;
    hub.hub.on('protocol-error', (event) => {
      if (event.code === 'peer-congested' && congestedAt === 0) congestedAt = lastNow;
    });
    hub.hub.on('peer-left', () => (leftAt = lastNow));
    const left = nextEvent(hub.hub, 'peer-left', 15_000);
    // A sender that goes on sending: once the queue is full, its offers are refused until the reader is closed.
    let sending = true;
    void (async () => {
      for (let i = 0; sending && i < 2000; i++) {
        sender.send({ type: 'offer', offer: bigOffer(60_000, i), name: 'stalled' });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const event = await left;
    sending = false;
    restoreNow();
    expect(event).toMatchObject({ name: 'stalled', reason: 'slow-consumer', code: 4507 });
    // Refused first, closed only once the queue had stayed full for the timeout.
    expect(congestedAt).toBeGreaterThan(0);
    expect(leftAt - congestedAt).toBeGreaterThanOrEqual(300);
    expect(await sender.nextOf('error')).toMatchObject({ code: 'peer-congested', target: 'stalled' });
    // Reading again, the client gets what was queued, then the close frame.
    reader.resumeReading();
    expect(await reader.closeCode(10_000)).toBe(4507);
  });
});
