import { createClient } from 'redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ScriptRunner } from '../../src/cluster/redis/client.js';
import { GatedChannel } from '../../src/cluster/redis/gated-channel.js';
import { Keys } from '../../src/cluster/redis/keys.js';
import { until } from '../helpers/events.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * GATE (scripts.ts) on a real Redis, through the runner's own transaction: a batch is published outside
 * Lua only right after GATE's approval, and one GATE refuses is routed by GATE itself, inside the same
 * transaction, on the node channels FORWARD uses. A node `X` is made by hand here: its lease, its epoch,
 * a name it holds, and a subscriber on both of its channels that records what arrives, in order.
 */
describe('GATE: a batch forwarded outside Lua', () => {
  const prefix = '{gt}';
  const keys = new Keys(prefix, 'S');
  const gated = keys.gatedOf('X');
  const relay = keys.channelOf('X');
  let redis: RedisServer;
  let client: ReturnType<typeof createClient>;
  let subscriber: ReturnType<typeof createClient>;
  let runner: ScriptRunner;
  /** What X's channels delivered, in order: `gated` or `relay`, and the message. */
  const heard: Array<[string, string]> = [];
  let sentinels = 0;

  const gatedListener = (message: string | Buffer) => heard.push(['gated', message.toString()]);
  const relayListener = (message: string | Buffer) => heard.push(['relay', message.toString()]);

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = createClient({ url: redis.url });
    client.on('error', () => {});
    await client.connect();
    subscriber = client.duplicate();
    subscriber.on('error', () => {});
    await subscriber.connect();
    await subscriber.subscribe(relay, relayListener, true);
    runner = new ScriptRunner(
      { isReady: true, sendCommand: (args, options) => client.sendCommand(args, options) },
      keys.nodes,
      false,
      2000,
      64,
      1 << 20,
    );
    await runner.load();
  });

  afterAll(async () => {
    subscriber?.destroy();
    client?.destroy();
    await redis?.dispose();
  });

  beforeEach(async () => {
    await client.sendCommand(['SET', keys.leaseOf('X'), 'lease']);
    await client.sendCommand(['SET', `${prefix}epoch:X`, '5']);
    await client.sendCommand(['SET', `${prefix}name:t`, 'X claim']);
    await subscriber.subscribe(gated, gatedListener, true);
    heard.length = 0;
  });

  /** Everything X's channels delivered before a sentinel published now on its relay channel. */
  async function settled(): Promise<Array<[string, string]>> {
    const sentinel = `sentinel ${++sentinels}`;
    await client.sendCommand(['PUBLISH', relay, sentinel]);
    await until(() => heard.some(([, message]) => message === sentinel), 'the sentinel');
    return heard.splice(0).filter(([, message]) => message !== sentinel);
  }

  const batch = Buffer.from('17;candidate\tS\ta\tt\t{}');
  const send = (epoch: string, deadline = '0') =>
    runner.gated(keys.batch, batch, [prefix, 'S', deadline, 'X', epoch, '', 't'], gated) as Promise<unknown[]>;

  /** What a node's GatedChannel lets through of what arrived on the gated channel. */
  function passed(messages: Array<[string, string]>): string[] {
    const through: string[] = [];
    const channel = new GatedChannel((message) => through.push(message.toString()));
    for (const [where, message] of messages) if (where === 'gated') channel.listener(Buffer.from(message));
    return through;
  }

  it('publishes the batch on the gated channel right after its approval while the epoch holds', async () => {
    const reply = await send('5');
    expect(reply.slice(1)).toEqual([1, 1]);
    const messages = await settled();
    expect(messages).toEqual([
      ['gated', `+${batch.length}`],
      ['gated', batch.toString()],
    ]);
    expect(passed(messages)).toEqual([batch.toString()]);
    // The stored batch lives only as long as its transaction (the key stays, empty).
    expect(await client.sendCommand(['GET', keys.batch])).toBe('');
  });

  it('routes the batch itself, before the unapproved copy, when the epoch has grown', async () => {
    const reply = await send('4');
    // FORWARD's answer: one holder, its receivers, its epoch now.
    expect(reply[1]).toEqual(['X', 1, '5']);
    const messages = await settled();
    expect(messages).toEqual([
      ['relay', batch.toString()],
      ['gated', batch.toString()],
    ]);
    expect(passed(messages)).toEqual([]);
    expect(await client.sendCommand(['GET', keys.batch])).toBe('');
  });

  it('routes the batch itself when the node does not listen on its gated channel (it is not subscribed yet)', async () => {
    await subscriber.unsubscribe(gated, gatedListener, true);
    const reply = await send('5');
    expect(reply[1]).toEqual(['X', 1, '5']);
    expect(await settled()).toEqual([['relay', batch.toString()]]);
  });

  it('routes the batch to nobody, saying so, when its node lost its lease', async () => {
    await client.sendCommand(['DEL', keys.leaseOf('X')]);
    const reply = await send('5');
    expect(reply[1]).toEqual(['', 0]);
    const messages = await settled();
    expect(passed(messages)).toEqual([]);
  });

  it('publishes nothing it approves once the deadline has passed, and empties the stored batch', async () => {
    const reply = await send('5', '1');
    expect(reply[1]).toBe(-2);
    const messages = await settled();
    expect(messages).toEqual([['gated', batch.toString()]]);
    expect(passed(messages)).toEqual([]);
    expect(await client.sendCommand(['GET', keys.batch])).toBe('');
  });

  it('lets nothing through when Redis lost its scripts: the reply holds the error', async () => {
    await client.sendCommand(['SCRIPT', 'FLUSH']);
    try {
      const reply = await send('5');
      expect(reply[1]).toBeInstanceOf(Error);
      expect((reply[1] as Error).message).toMatch(/^NOSCRIPT/);
      expect(passed(await settled())).toEqual([]);
    } finally {
      await runner.load();
    }
  });
});

describe('GatedChannel', () => {
  function channel() {
    const through: string[] = [];
    return { gate: new GatedChannel((message) => through.push(message.toString())), through };
  }

  it('lets through the one message its approval names, by length, and no other', () => {
    const { gate, through } = channel();
    gate.listener(Buffer.from('+3'));
    gate.listener(Buffer.from('abc'));
    gate.listener(Buffer.from('def'));
    gate.listener(Buffer.from('+3'));
    gate.listener(Buffer.from('ghij'));
    gate.listener(Buffer.from('klm'));
    expect(through).toEqual(['abc']);
  });

  it('counts a text message in UTF-8 bytes, as Redis does', () => {
    const { gate, through } = channel();
    gate.listener('+4');
    gate.listener('aé€'.slice(0, 2));
    gate.listener('+3');
    gate.listener('aé');
    expect(through).toEqual(['aé']);
  });

  it('forgets an approval when its connection changes', () => {
    const { gate, through } = channel();
    gate.listener(Buffer.from('+3'));
    gate.reset();
    gate.listener(Buffer.from('abc'));
    expect(through).toEqual([]);
  });
});
