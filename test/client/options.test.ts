import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  clientDefaults,
  InvalidOptionError,
  PeerConnectionManager,
  peerConnectionManagerDefaults,
  SignallingClient,
  SignallingHubError,
} from '../../src/client.js';

const url = 'ws://127.0.0.1:9/';

/** The error a construction throws, checked to be an InvalidOptionError. */
function refusal(construct: () => unknown): InvalidOptionError {
  let thrown: unknown;
  try {
    construct();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidOptionError);
  expect(thrown).toBeInstanceOf(SignallingHubError);
  expect((thrown as InvalidOptionError).code).toBe('SH_ERR_INVALID_OPTION');
  return thrown as InvalidOptionError;
}

/** Options as a JavaScript caller could pass them, past the declared types. */
const loose = (options: Record<string, unknown>) => options as never;

describe('SignallingClient options', () => {
  it('exports its defaults as one frozen object', () => {
    expect(clientDefaults).toEqual({
      WebSocket: undefined,
      reconnect: true,
      reconnectDelay: 500,
      maxReconnectDelay: 10000,
      maxReconnectAttempts: Infinity,
      loginTimeout: 10000,
      random: Math.random,
      maxOutboxMessages: 512,
      maxOutboxBytes: 524288,
      sendRate: { messagesPerSecond: 100, burst: 200 },
      resume: true,
      drainReconnectWindow: 5000,
      transport: 'auto',
      fallbackTimeout: 4000,
      http: {},
      loginFields: {},
      credentials: undefined,
      acceptAssignedName: false,
    });
    expect(Object.isFrozen(clientDefaults)).toBe(true);
    expect(Object.isFrozen(clientDefaults.sendRate)).toBe(true);
  });

  it('refuses an unknown option with a suggestion', () => {
    const error = refusal(() => new SignallingClient(url, loose({ reconect: false })));
    expect(error.option).toBe('reconect');
    expect(error.message).toMatch(/did you mean reconnect\?/);
    expect(refusal(() => new SignallingClient(url, loose({ sendRate: { burts: 3 } }))).message).toMatch(
      /did you mean sendRate\.burst\?/,
    );
  });

  it.each([
    ['reconnectDelay', -1],
    ['reconnectDelay', '1s'],
    ['reconnectDelay', 0],
    ['maxReconnectDelay', NaN],
    ['maxReconnectAttempts', 1.5],
    ['maxReconnectAttempts', -1],
    ['loginTimeout', 2 ** 31],
    ['WebSocket', 'x'],
    ['WebSocket', null],
    ['reconnect', 'yes'],
    ['random', 0.5],
    ['maxOutboxMessages', 0],
    ['maxOutboxBytes', 1.5],
    ['sendRate', true],
    ['sendRate', { messagesPerSecond: 0 }],
    ['sendRate', { burst: 0.5 }],
    ['loginFields', 'jwt'],
    ['loginFields', null],
    ['loginFields', []],
    ['credentials', { query: {} }],
    ['acceptAssignedName', 'yes'],
  ])('refuses %s: %j', (option, value) => {
    const error = refusal(() => new SignallingClient(url, loose({ [option]: value })));
    expect(error.option.split('.')[0]).toBe(option);
  });

  it('refuses options that are not an object', () => {
    refusal(() => new SignallingClient(url, null as never));
    refusal(() => new SignallingClient(url, 'fast' as never));
  });

  it('accepts every valid value, and undefined as the default', () => {
    expect(
      () =>
        new SignallingClient(url, {
          WebSocket,
          reconnect: false,
          reconnectDelay: 1,
          maxReconnectDelay: 60_000,
          maxReconnectAttempts: Infinity,
          loginTimeout: 2 ** 31 - 1,
          random: () => 0,
          maxOutboxMessages: 1,
          maxOutboxBytes: 1,
          sendRate: false,
          loginFields: { jwt: 'x' },
          credentials: () => ({ query: { token: 't' } }),
          acceptAssignedName: true,
        }),
    ).not.toThrow();
    expect(() => new SignallingClient(url, { maxReconnectAttempts: 0, sendRate: { messagesPerSecond: 0.5 } })).not.toThrow();
    expect(() => new SignallingClient(url, { reconnectDelay: undefined, WebSocket: undefined })).not.toThrow();
  });
});

describe('PeerConnectionManager options', () => {
  const client = new SignallingClient(url, { WebSocket });
  class Fake {}

  it('exports its defaults as one frozen object', () => {
    expect(peerConnectionManagerDefaults).toEqual({
      RTCPeerConnection: undefined,
      configuration: {},
      maxEarlyCandidates: 256,
      iceRestart: true,
      maxMeshSize: 8,
    });
    expect(Object.isFrozen(peerConnectionManagerDefaults)).toBe(true);
  });

  it('refuses an unknown option with a suggestion, and wrong values', () => {
    const error = refusal(() => new PeerConnectionManager(client, loose({ RTCPeerconnection: Fake })));
    expect(error.message).toMatch(/did you mean RTCPeerConnection\?/);
    expect(refusal(() => new PeerConnectionManager(client, loose({ maxEarlyCandidate: 3 }))).message).toMatch(
      /did you mean maxEarlyCandidates\?/,
    );
    for (const [option, value] of [
      ['RTCPeerConnection', 'x'],
      ['RTCPeerConnection', {}],
      ['configuration', 'stun:example.org'],
      ['configuration', null],
      ['configuration', []],
      ['maxEarlyCandidates', -1],
      ['maxEarlyCandidates', 2.5],
      ['maxEarlyCandidates', '256'],
    ] as const) {
      expect(refusal(() => new PeerConnectionManager(client, loose({ RTCPeerConnection: Fake, [option]: value }))).option).toBe(
        option,
      );
    }
  });

  it('refuses to start without any RTCPeerConnection class, with a typed error (Node has none)', () => {
    expect(globalThis).not.toHaveProperty('RTCPeerConnection');
    expect(refusal(() => new PeerConnectionManager(client)).option).toBe('RTCPeerConnection');
  });

  it('accepts valid options and does not listen to the client after a refusal', () => {
    const listeners = client.listenerCount('offer');
    refusal(() => new PeerConnectionManager(client, loose({ maxEarlyCandidates: -1 })));
    expect(client.listenerCount('offer')).toBe(listeners);
    const calls = new PeerConnectionManager(
      client,
      loose({ RTCPeerConnection: Fake, configuration: { iceServers: [] }, maxEarlyCandidates: 0 }),
    );
    expect(client.listenerCount('offer')).toBe(listeners + 1);
    calls.close();
    expect(client.listenerCount('offer')).toBe(listeners);
  });
});
