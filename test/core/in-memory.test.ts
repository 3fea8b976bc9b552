import { describe, expect, it } from 'vitest';
import { SignallingHub, type Transport } from '../../src/index.js';

/** A unit of the core in isolation: an in-memory transport instead of a socket. */
class MemoryTransport implements Transport {
  readonly sent: Array<Record<string, unknown>> = [];
  closedWith: [number, string] | undefined;
  bufferedAmount = 0;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
  }
}

function connect(hub: SignallingHub) {
  const transport = new MemoryTransport();
  const session = hub.open(transport);
  return { transport, session, send: (message: object) => session.receive(JSON.stringify(message)) };
}

describe('the core without a transport library', () => {
  it('relays between in-memory connections synchronously', () => {
    const hub = new SignallingHub();
    const a = connect(hub);
    const b = connect(hub);
    a.send({ type: 'login', name: 'a' });
    b.send({ type: 'login', name: 'b' });
    a.send({ type: 'offer', offer: { sdp: 's' }, name: 'b' });
    expect(b.transport.sent.at(-1)).toEqual({ type: 'offer', offer: { sdp: 's' }, name: 'a' });
    void hub.close();
  });

  it('answers an over-long text with message-too-large when the transport has no frame limit', () => {
    const hub = new SignallingHub({ maxMessageBytes: 100 });
    const a = connect(hub);
    a.session.receive(JSON.stringify({ type: 'login', name: 'x'.repeat(200) }));
    expect(a.transport.sent.at(-1)).toMatchObject({ type: 'error', code: 'message-too-large' });
    void hub.close();
  });

  it('closes with 4507 when the transport reports too many queued bytes (slowConsumerTimeout 0)', () => {
    const hub = new SignallingHub({ maxBufferedBytes: 1024, slowConsumerTimeout: 0 });
    const a = connect(hub);
    const b = connect(hub);
    a.send({ type: 'login', name: 'a' });
    b.send({ type: 'login', name: 'b' });
    b.transport.bufferedAmount = 1025;
    a.send({ type: 'candidate', candidate: 1, name: 'b' });
    expect(b.transport.closedWith?.[0]).toBe(4507);
    expect(hub.getPeer('b')).toBeUndefined();
    void hub.close();
  });

  it('ignores frames after the transport reported the close', () => {
    const hub = new SignallingHub();
    const a = connect(hub);
    a.send({ type: 'login', name: 'a' });
    a.session.closed(1000);
    a.session.closed(1000);
    a.send({ type: 'login', name: 'again' });
    expect(hub.size).toBe(0);
    expect(a.transport.sent).toHaveLength(1);
    void hub.close();
  });
});
