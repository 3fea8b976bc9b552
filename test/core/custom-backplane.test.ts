import { describe, expect, it } from 'vitest';
import {
  type Backplane,
  type BackplaneHost,
  type Envelope,
  type ForwardResult,
  SignallingHub,
  type SignallingHubError,
  type Transport,
} from '../../src/index.js';

/** A unit of the core in isolation: an in-memory transport and a backplane that records what the hub forwards. */
class MemoryTransport implements Transport {
  readonly sent: Array<Record<string, unknown>> = [];
  bufferedAmount = 0;
  send(message: string | Uint8Array): void {
    this.sent.push(
      JSON.parse(typeof message === 'string' ? message : Buffer.from(message).toString()) as Record<string, unknown>,
    );
  }
  close(): void {}
}

/** A custom backplane: every name not held here is on node `far` when `known`, else nowhere. */
function recordingBackplane(known: ReadonlySet<string>, fail = false) {
  const forwarded: Envelope[] = [];
  let host: BackplaneHost | undefined;
  const backplane: Backplane = {
    nodeId: 'near',
    start: (h) => {
      host = h;
      return Promise.resolve();
    },
    claim: () => Promise.resolve('claimed'),
    release() {},
    forward(envelope): Promise<ForwardResult> {
      forwarded.push({ ...envelope });
      if (fail) return Promise.reject(new Error('medium down'));
      return Promise.resolve(
        known.has(envelope.to) ? { delivered: true, node: 'far' } : { delivered: false, reason: 'not-found' },
      );
    },
    close: () => Promise.resolve(),
  };
  return { backplane, forwarded, host: () => host };
}

function connect(hub: SignallingHub) {
  const transport = new MemoryTransport();
  const session = hub.open(transport);
  return { transport, session };
}

/** Resolves once `transport` got `count` frames, or rejects at the deadline. */
async function frames(transport: MemoryTransport, count: number, deadlineMs = 2000): Promise<Array<Record<string, unknown>>> {
  const until = Date.now() + deadlineMs;
  while (transport.sent.length < count) {
    if (Date.now() > until) throw new Error(`got ${transport.sent.length} frames, expected ${count}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return transport.sent;
}

describe('a custom backplane without forwardRelay', () => {
  it('gets each relay to another node as an envelope whose frame is text, even when the relay came in as bytes', async () => {
    const { backplane, forwarded } = recordingBackplane(new Set(['far-peer']));
    const hub = new SignallingHub({ backplane });
    await hub.ready;
    const a = connect(hub);
    a.session.receive('{"type":"login","name":"a"}');
    await frames(a.transport, 1);
    // Bytes take the byte path (the ws adapter's), text the text path: both reach the backplane as text.
    a.session.receive(Buffer.from('{"type":"offer","offer":{"sdp":"s1"},"name":"far-peer"}'));
    a.session.receive('{"type":"candidate","candidate":{"c":2},"name":"far-peer"}');
    a.session.receive(Buffer.from('{"type":"answer","answer":{"sdp":"s3"},"name":"nobody"}'));
    const sent = await frames(a.transport, 2);
    expect(sent[0]).toMatchObject({ type: 'login', success: true, name: 'a' });
    expect(forwarded.map(({ kind, from, fromNode, to }) => ({ kind, from, fromNode, to }))).toEqual([
      { kind: 'offer', from: 'a', fromNode: 'near', to: 'far-peer' },
      { kind: 'candidate', from: 'a', fromNode: 'near', to: 'far-peer' },
      { kind: 'answer', from: 'a', fromNode: 'near', to: 'nobody' },
    ]);
    for (const envelope of forwarded) expect(typeof envelope.frame).toBe('string');
    expect(JSON.parse(forwarded[0]!.frame)).toEqual({ type: 'offer', offer: { sdp: 's1' }, name: 'a' });
    expect(JSON.parse(forwarded[1]!.frame)).toEqual({ type: 'candidate', candidate: { c: 2 }, name: 'a' });
    // Only the relay to a name no node holds is answered.
    expect(sent.slice(1)).toEqual([
      expect.objectContaining({ type: 'error', code: 'peer-not-found', request: 'answer', target: 'nobody' }),
    ]);
    await hub.close();
  });

  it('answers backplane-unavailable and reports the error when forward rejects', async () => {
    const { backplane } = recordingBackplane(new Set(), true);
    const hub = new SignallingHub({ backplane });
    const errors: SignallingHubError[] = [];
    hub.on('error', (error) => errors.push(error));
    await hub.ready;
    const a = connect(hub);
    a.session.receive('{"type":"login","name":"a"}');
    await frames(a.transport, 1);
    a.session.receive(Buffer.from('{"type":"offer","offer":{"sdp":"s"},"name":"far-peer"}'));
    const sent = await frames(a.transport, 2);
    expect(sent[1]).toMatchObject({ type: 'error', code: 'backplane-unavailable', request: 'offer', target: 'far-peer' });
    expect(errors.map((error) => error.message).join('\n')).toContain('medium down');
    await hub.close();
  });
});

describe('a custom backplane with forwardRelay', () => {
  it('gets the frame as bytes (valid during the call) and a callback, answered as a forward would be', async () => {
    const { backplane } = recordingBackplane(new Set());
    const relays: Array<{ kind: string; from: string; to: string; frame: string; bytes: boolean }> = [];
    const pending: Array<() => void> = [];
    backplane.forwardRelay = (kind, from, to, frame, done) => {
      // Copied now: bytes are valid only during the call.
      relays.push({
        kind,
        from,
        to,
        frame: typeof frame === 'string' ? frame : Buffer.from(frame).toString(),
        bytes: typeof frame !== 'string',
      });
      pending.push(() => done(to === 'far-peer' ? { delivered: true, node: 'far' } : { delivered: false, reason: 'not-found' }));
    };
    const hub = new SignallingHub({ backplane });
    const protocolErrors: string[] = [];
    hub.on('protocol-error', ({ code }) => protocolErrors.push(code));
    await hub.ready;
    const a = connect(hub);
    a.session.receive('{"type":"login","name":"a"}');
    await frames(a.transport, 1);
    a.session.receive(Buffer.from('{"type":"offer","offer":{"sdp":"s1"},"name":"far-peer"}'));
    a.session.receive(Buffer.from('{"type":"candidate","candidate":{"c":2},"name":"gone"}'));
    expect(relays).toEqual([
      { kind: 'offer', from: 'a', to: 'far-peer', frame: '{"type":"offer","offer":{"sdp":"s1"},"name":"a"}', bytes: true },
      { kind: 'candidate', from: 'a', to: 'gone', frame: '{"type":"candidate","candidate":{"c":2},"name":"a"}', bytes: true },
    ]);
    // Nothing is answered before the backplane calls back.
    expect(a.transport.sent).toHaveLength(1);
    for (const answer of pending) answer();
    expect(a.transport.sent.slice(1)).toEqual([
      expect.objectContaining({ type: 'error', code: 'peer-not-found', request: 'candidate', target: 'gone' }),
    ]);
    expect(protocolErrors).toEqual(['peer-not-found']);
    await hub.close();
  });

  it('reports a protocol-error listener that throws while a batch is answered, and answers the rest of the batch', async () => {
    const { backplane } = recordingBackplane(new Set());
    const pending: Array<() => void> = [];
    backplane.forwardRelay = (_kind, _from, _to, _frame, done) => {
      pending.push(() => done({ delivered: false, reason: 'not-found' }));
    };
    const hub = new SignallingHub({ backplane });
    const errors: SignallingHubError[] = [];
    hub.on('error', (error) => errors.push(error));
    hub.on('protocol-error', () => {
      throw new Error('listener broke');
    });
    await hub.ready;
    const a = connect(hub);
    a.session.receive('{"type":"login","name":"a"}');
    await frames(a.transport, 1);
    a.session.receive('{"type":"candidate","candidate":1,"name":"x"}');
    a.session.receive('{"type":"candidate","candidate":2,"name":"y"}');
    // As a backplane answers a batch: one loop over its relays.
    for (const answer of pending) answer();
    expect(a.transport.sent.slice(1).map((frame) => frame.target)).toEqual(['x', 'y']);
    const says = (error: SignallingHubError) => `${error.message} ${error.cause instanceof Error ? error.cause.message : ''}`;
    expect(errors.filter((error) => says(error).includes('listener broke'))).toHaveLength(2);
    await hub.close();
  });
});
