import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/backplane.js';
import {
  decodeEnvelopeBytes,
  decodeEnvelopes,
  encodeEnvelope,
  encodeFramedEnvelope,
  framedBytesBound,
  isByteFramed,
  writeFramedEnvelope,
} from '../../src/cluster/envelope-codec.js';
import { clusterSuite, loggedIn, useRedisCluster } from '../helpers/cluster.js';
import type { HubServer } from '../helpers/hub-server.js';
import type { TestClient } from '../helpers/test-client.js';

/**
 * A burst larger than the buffers a node writes batches into, intact and in order: relays' frames
 * arrive as bytes, the hub's own messages as text, one of them (in UTF-8 up to three bytes a unit)
 * larger than a whole buffer, so queued envelopes move to a larger one.
 */
async function bigBurst(one: HubServer, two: HubServer, clients: TestClient[]): Promise<void> {
  const a = await loggedIn(one.url, 'Big', clients);
  const b = await loggedIn(two.url, 'Sink', clients);
  const count = 120;
  const pad = (i: number) => `${i}:`.padEnd(3000 + i * 7, String.fromCharCode(97 + (i % 26)));
  const noteText = (i: number) => `中${pad(i)}`.repeat(i === 60 ? 10 : 1);
  const notes: Array<Promise<boolean>> = [];
  for (let i = 0; i < count; i++) {
    a.send({ type: 'candidate', candidate: { candidate: pad(i) }, name: 'Sink' });
    if (i % 40 === 20) notes.push(one.hub.send('Sink', { type: 'note', i, text: noteText(i) }));
  }
  expect(await Promise.all(notes)).toEqual([true, true, true]);
  const candidates: unknown[] = [];
  const received: unknown[] = [];
  while (candidates.length < count || received.length < 3) {
    const frame = (await b.next()) as { type: string };
    (frame.type === 'candidate' ? candidates : received).push(frame);
  }
  for (let i = 0; i < count; i++)
    expect(candidates[i]).toEqual({ type: 'candidate', candidate: { candidate: pad(i) }, name: 'Big' });
  expect(received).toEqual([20, 60, 100].map((i) => ({ type: 'note', i, text: noteText(i) })));
}

/** Envelopes forwarded in one event-loop turn are sent together, each answered on its own, in order per sender. */
clusterSuite('cross-node forwarding', 'b', (cluster) => {
  const { clients } = cluster;
  const node = () => cluster.node();

  it('delivers 1000 candidates from one sender on another node in order, and nothing else', async () => {
    const [one, two] = [await node(), await node()];
    const a = await loggedIn(one.url, 'Sender', clients);
    const b = await loggedIn(two.url, 'Receiver', clients);
    const count = 1000;
    for (let i = 0; i < count; i++) a.send({ type: 'candidate', candidate: { candidate: `candidate:${i}` }, name: 'Receiver' });
    for (let i = 0; i < count; i++) {
      expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: `candidate:${i}` }, name: 'Sender' });
    }
    // Sentinels through the same paths, each way: nothing else came before them.
    a.send({ type: 'candidate', candidate: 'sentinel', name: 'Receiver' });
    expect(await b.next()).toEqual({ type: 'candidate', candidate: 'sentinel', name: 'Sender' });
    b.send({ type: 'candidate', candidate: 'sentinel', name: 'Sender' });
    expect(await a.next()).toEqual({ type: 'candidate', candidate: 'sentinel', name: 'Receiver' });
    expect(b.inbox).toEqual([]);
    expect(a.inbox).toEqual([]);
  });

  it('carries a burst larger than the buffers batches are written into intact and in order, frames from bytes and text mixed', async () => {
    await bigBurst(await node(), await node(), clients);
  });

  it('puts a room join after the relays sent before it, even while they wait behind an earlier batch', async () => {
    const [one, two] = [await node(), await node()];
    const a = await loggedIn(one.url, 'Burst', clients);
    const b = await loggedIn(two.url, 'Member', clients);
    expect(await b.request({ type: 'join', room: 'R' })).toMatchObject({ type: 'join', success: true });
    const count = 500;
    // Sent in one go: over Redis, later ones are held while the first batch waits for its answer.
    for (let i = 0; i < count; i++) a.send({ type: 'candidate', candidate: `c${i}`, name: 'Member' });
    a.send({ type: 'join', room: 'R' });
    for (let i = 0; i < count; i++) expect(await b.next()).toEqual({ type: 'candidate', candidate: `c${i}`, name: 'Burst' });
    expect(await b.next()).toEqual({ type: 'joined', room: 'R', name: 'Burst' });
  });

  it('answers each envelope of one turn on its own, to several nodes and to a missing name', async () => {
    const [one, two, three] = [await node(), await node(), await node()];
    const b = await loggedIn(two.url, 'OnTwo', clients);
    const c = await loggedIn(three.url, 'OnThree', clients);
    // All in one turn: one batch with two destination nodes and a miss in the middle.
    const results = await Promise.all([
      one.hub.send('OnTwo', { type: 'note', n: 1 }),
      one.hub.send('OnThree', { type: 'note', n: 2 }),
      one.hub.send('Nobody', { type: 'note', n: 3 }),
      one.hub.send('OnTwo', { type: 'note', n: 4 }),
      one.hub.send('OnThree', { type: 'note', n: 5 }),
    ]);
    expect(results).toEqual([true, true, false, true, true]);
    expect(await b.next()).toEqual({ type: 'note', n: 1 });
    expect(await b.next()).toEqual({ type: 'note', n: 4 });
    expect(await c.next()).toEqual({ type: 'note', n: 2 });
    expect(await c.next()).toEqual({ type: 'note', n: 5 });
  });

  it('keeps one sender in order per target when a burst goes to peers on two nodes', async () => {
    const [one, two, three] = [await node(), await node(), await node()];
    const a = await loggedIn(one.url, 'Fan', clients);
    const b = await loggedIn(two.url, 'Left', clients);
    const c = await loggedIn(three.url, 'Right', clients);
    const count = 300;
    for (let i = 0; i < count; i++) {
      a.send({ type: 'candidate', candidate: { candidate: `l${i}` }, name: 'Left' });
      a.send({ type: 'candidate', candidate: { candidate: `r${i}` }, name: 'Right' });
    }
    for (let i = 0; i < count; i++) {
      expect(await b.next()).toEqual({ type: 'candidate', candidate: { candidate: `l${i}` }, name: 'Fan' });
      expect(await c.next()).toEqual({ type: 'candidate', candidate: { candidate: `r${i}` }, name: 'Fan' });
    }
  });

  it('cuts a batch for several nodes at envelope bounds when frames hold characters outside ASCII', async () => {
    const [one, two, three] = [await node(), await node(), await node()];
    const b = await loggedIn(two.url, 'Zwei 😀', clients);
    const c = await loggedIn(three.url, 'Drei 中', clients);
    const texts = ['😀😀', 'é\tü', '中文字符', 'ascii'];
    // One turn: one batch, split by Redis between two nodes (and a miss), by UTF-8 byte lengths.
    const results = await Promise.all(
      texts.flatMap((text) => [
        one.hub.send('Zwei 😀', { type: 'note', text }),
        one.hub.send('Nobody 😀', { type: 'note', text }),
        one.hub.send('Drei 中', { type: 'note', text }),
      ]),
    );
    expect(results).toEqual(texts.flatMap(() => [true, false, true]));
    for (const text of texts) expect(await b.next()).toEqual({ type: 'note', text });
    for (const text of texts) expect(await c.next()).toEqual({ type: 'note', text });
  });

  it('carries frames with characters outside ASCII intact inside a batch', async () => {
    const [one, two] = [await node(), await node()];
    const b = await loggedIn(two.url, 'Ünïcødé 😀', clients);
    const texts = ['😀😀 surrogate pairs', 'é\ttab and\nnewline', 'ascii', '中文字符'];
    const results = await Promise.all(texts.map((text) => one.hub.send('Ünïcødé 😀', { type: 'note', text })));
    expect(results).toEqual([true, true, true, true]);
    for (const text of texts) expect(await b.next()).toEqual({ type: 'note', text });
  });

  it('answers peer-not-found to a target no name can be (a tab, a control character), without touching the relays batched with it', async () => {
    const [one, two] = [await node(), await node()];
    const a = await loggedIn(one.url, 'Sender', clients);
    const x = await loggedIn(two.url, 'x', clients);
    const z = await loggedIn(two.url, 'z', clients);
    // Tabs separate an envelope's fields between nodes: such a target must not reach the bus.
    const bad = ['x\ty', 'x\t{"type":"leave","name":"z"}', 'x\u0001', 'x\u0085'];
    a.send({ type: 'candidate', candidate: 'to-z-1', name: 'z' });
    for (const name of bad) a.send({ type: 'candidate', candidate: 'spoof', name });
    a.send({ type: 'candidate', candidate: 'to-z-2', name: 'z' });
    const told = await Promise.all(bad.map((name) => a.next((f) => f.type === 'error' && f.target === name)));
    for (const error of told) expect(error).toMatchObject({ type: 'error', code: 'peer-not-found', request: 'candidate' });
    expect(await z.next()).toEqual({ type: 'candidate', candidate: 'to-z-1', name: 'Sender' });
    expect(await z.next()).toEqual({ type: 'candidate', candidate: 'to-z-2', name: 'Sender' });
    // A sentinel through the same path: x got nothing before it.
    a.send({ type: 'candidate', candidate: 'sentinel', name: 'x' });
    expect(await x.next()).toEqual({ type: 'candidate', candidate: 'sentinel', name: 'Sender' });
    expect(a.inbox.filter((f) => f.type === 'error')).toEqual([]);
    expect(await one.hub.send('x\ty', { type: 'note' })).toBe(false);
  });
});

/** Over Redis, one turn's envelopes share one Lua call and one PUBLISH per node: a call that times out fails them all. */
describe('cross-node batching through Redis', () => {
  const cluster = useRedisCluster('bt');
  const { clients } = cluster;
  const node = (commandTimeout = 1000) => cluster.node({ commandTimeout });

  it('answers unavailable, within two command timeouts, a batch held behind a call that stalls', async () => {
    const [one, two] = [await node(300), await node(300)];
    await loggedIn(two.url, 'Far', clients);
    expect(await cluster.redis.command('CLIENT PAUSE 1200 ALL')).toBe('+OK');
    const sentAt = Date.now();
    const first = one.hub.send('Far', { type: 'note', n: 1 });
    // A later turn: the first call is written and waits, so these are held behind it.
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3].map((n) => one.hub.send('Far', { type: 'note', n }));
    expect(await Promise.all([first, ...later])).toEqual([false, false, false]);
    expect(Date.now() - sentAt).toBeLessThan(1100);
    // Answered once the pause is over: the next test starts on a Redis that answers.
    expect(await cluster.redis.command('PING', 5000)).toBe('+PONG');
  });

  it('cuts held batches at their byte cap, intact and in order, while their envelopes move to larger buffers', async () => {
    // Batches of at most 224 KiB (a quarter of the forward budget).
    const caps = { maxInFlightBytes: 1024 * 1024 };
    const [one, two] = [await cluster.node(caps), await cluster.node(caps)];
    const b = await loggedIn(two.url, 'Sink', clients);
    const text = (i: number) => `${i}:`.padEnd(6000 + i, String.fromCharCode(97 + (i % 26)));
    const first = one.hub.send('Sink', { type: 'note', i: -1, text: 'first' });
    // A later turn: the first call waits for Redis, so what follows is held, moved to larger buffers
    // as it grows past them, and sent in cut batches as it passes the cap.
    await new Promise((resolve) => setImmediate(resolve));
    const count = 60;
    const rest = Array.from({ length: count }, (_, i) => one.hub.send('Sink', { type: 'note', i, text: text(i) }));
    expect(await Promise.all([first, ...rest])).toEqual(new Array<boolean>(count + 1).fill(true));
    expect(await b.next()).toEqual({ type: 'note', i: -1, text: 'first' });
    for (let i = 0; i < count; i++) expect(await b.next()).toEqual({ type: 'note', i, text: text(i) });
  });

  it('answers unavailable for every envelope of a batch that times out', async () => {
    const [one, two] = [await node(300), await node(300)];
    await loggedIn(two.url, 'Far', clients);
    expect(await cluster.redis.command('CLIENT PAUSE 800 ALL')).toBe('+OK');
    const sentAt = Date.now();
    const results = await Promise.all([1, 2, 3].map((n) => one.hub.send('Far', { type: 'note', n })));
    expect(results).toEqual([false, false, false]);
    expect(Date.now() - sentAt).toBeLessThan(750);
    // Answered once the pause is over: the next test starts on a Redis that answers.
    expect(await cluster.redis.command('PING', 5000)).toBe('+PONG');
  });
});

describe('envelope codec', () => {
  const envelope = (to: string, frame: string, fields: Partial<Envelope> = {}): Envelope => ({
    kind: 'candidate',
    from: 'A',
    fromNode: 'n1',
    to,
    frame,
    ...fields,
  });
  /** An envelope's fields as a plain object (a decoded one may make its text when asked and carry its bytes). */
  const plain = ({ kind, from, fromNode, to, frame }: Envelope): Envelope => ({ kind, from, fromNode, to, frame });

  it('splits concatenated envelopes back in order', () => {
    const sent = [envelope('B', '{"x":"😀"}'), envelope('C', '{"y":"\t"}'), envelope('B', '{}')];
    expect(decodeEnvelopes(sent.map(encodeFramedEnvelope).join(''))).toEqual(sent);
  });

  it('reads a bare envelope of an earlier version as a message of one', () => {
    const sent = envelope('B', '{"x":1}');
    expect(decodeEnvelopes(encodeEnvelope(sent))).toEqual([sent]);
  });

  /** What ForwardBatcher publishes: envelopes byte-framed into one buffer. */
  const batch = (envelopes: readonly Envelope[]): Buffer => {
    const buffer = Buffer.alloc(envelopes.reduce((n, sent) => n + framedBytesBound(sent), 0));
    let at = 0;
    for (const sent of envelopes) at = writeFramedEnvelope(buffer, at, sent);
    return buffer.subarray(0, at);
  };

  it('splits byte-framed envelopes back in order, lengths in UTF-8 bytes', () => {
    const sent = [envelope('Ünï 😀', '{"x":"😀"}'), envelope('C', '{"y":"\t中文"}'), envelope('B', '{}')];
    const bytes = batch(sent);
    expect(isByteFramed(bytes)).toBe(true);
    expect(decodeEnvelopeBytes(bytes)).toEqual(sent);
    // The length counts bytes (`😀` is 4 of them, 2 UTF-16 units) and is zero-padded to the digits its bound needs.
    const emoji = encodeEnvelope(envelope('B', '😀'));
    expect(batch([envelope('B', '😀')]).toString()).toBe(`${emoji.length + 2};${emoji}`);
    const ascii = encodeEnvelope(envelope('B', 'x'.repeat(20)));
    expect(batch([envelope('B', 'x'.repeat(20))]).toString()).toBe(`0${ascii.length};${ascii}`);
  });

  it('keeps envelope bounds when a frame holds bytes that are not UTF-8 (each reads as one U+FFFD)', () => {
    const bad = Buffer.concat([Buffer.from('candidate\tn1\tA\tB\t{'), Buffer.from([0xff]), Buffer.from('}')]);
    const bytes = Buffer.concat([Buffer.from(`${bad.length};`), bad, batch([envelope('C', '{}')])]);
    expect(decodeEnvelopeBytes(bytes)).toEqual([envelope('B', '{\uFFFD}'), envelope('C', '{}')]);
  });

  it('reads ASCII batches from two nodes with long names the same as envelope by envelope', () => {
    const long = (from: string, fromNode: string, to: string) => envelope(to, '{"x":1}', { kind: 'offer', from, fromNode });
    const sent = [
      long('a-sender-name-longer-than-13', 'node-0b6f1c2e-7a4d-4b8e', 'short'),
      long('short', 'node-0b6f1c2e-7a4d-4b8e', 'a-target-name-longer-than-13'),
      long('a-sender-name-longer-than-13', 'another-node-9c1f-2d3e4f5a', 'x'),
    ];
    const bytes = batch(sent);
    const received = decodeEnvelopeBytes(bytes)!;
    expect(received.map(plain)).toEqual(sent);
    // Their frames stay views of the message's bytes, which the hub writes to the target as they are.
    for (const [i, envelope] of received.entries()) {
      expect(envelope.bytes?.buffer).toBe(bytes.buffer);
      expect(Buffer.from(envelope.bytes!).toString()).toBe(sent[i]!.frame);
    }
  });

  it('reads each envelope of a batch under its own node and kind when node ids and kinds differ in one unit', () => {
    const of = (kind: Envelope['kind'], fromNode: string, to: string) => envelope(to, '{}', { kind, fromNode });
    // Same lengths: only a comparison of every unit tells them apart.
    const sent = [
      of('offer', 'node-0001', 'B'),
      of('leave', 'node-0002', 'C'),
      of('moved', 'node-0001', 'D'),
      of('offer', 'node-0002', 'E'),
      of('message', 'node-0002', 'F'),
    ];
    expect(decodeEnvelopeBytes(batch(sent))!.map(plain)).toEqual(sent);
    // A kind no envelope has, of a known kind's length, is refused.
    const framed = (body: string) => Buffer.from(`${body.length};${body}`);
    expect(decodeEnvelopeBytes(Buffer.concat([batch(sent), framed('offer\tnode-0001\tA\tB\t{}')]))).toHaveLength(6);
    expect(decodeEnvelopeBytes(Buffer.concat([batch(sent), framed('ofFer\tnode-0001\tA\tB\t{}')]))).toBeUndefined();
  });

  it('keeps frames as views of the right bytes when the message starts inside a larger buffer', () => {
    const sent = [envelope('B', '{"x":1}'), envelope('C', '{"y":22}')];
    const inner = batch(sent);
    // As a subscription hands it: a slice of a larger read (a pooled buffer, a socket chunk).
    const outer = Buffer.concat([Buffer.from('garbage;'), inner, Buffer.from('tail')]);
    const bytes = outer.subarray(8, 8 + inner.length);
    const received = decodeEnvelopeBytes(bytes)!;
    expect(received.map(plain)).toEqual(sent);
    for (const [i, envelope] of received.entries()) {
      expect(envelope.bytes?.buffer).toBe(outer.buffer);
      expect(Buffer.from(envelope.bytes!).toString()).toBe(sent[i]!.frame);
    }
  });

  it('tells byte-framed messages from text ones and rejects malformed ones', () => {
    const good = batch([envelope('B', '{}')]);
    for (const text of [encodeFramedEnvelope(envelope('B', '{}')), '{"t":"resume"}', '["n1","x"]', ';x', '12345678901;x'])
      expect(isByteFramed(Buffer.from(text))).toBe(false);
    for (const bytes of [
      Buffer.from(''),
      Buffer.from('12;'),
      Buffer.from('5;abc'),
      Buffer.concat([good, Buffer.from('9')]),
      Buffer.concat([good, Buffer.from('999;x')]),
      Buffer.from('3;a\tb'),
      Buffer.from('17;nope\tn1\tA\tB\t{}'),
    ])
      expect(decodeEnvelopeBytes(bytes)).toBeUndefined();
  });

  it('rejects malformed messages', () => {
    const good = encodeFramedEnvelope(envelope('B', '{}'));
    for (const text of ['', '12', '5:abc', `${good}9`, `${good}999:x`, '3:a\tb', `x${good}`])
      expect(decodeEnvelopes(text)).toBeUndefined();
  });
});
