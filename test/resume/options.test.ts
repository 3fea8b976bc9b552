import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  clientDefaults,
  InvalidArgumentError,
  InvalidOptionError,
  PeerConnectionManager,
  peerConnectionManagerDefaults,
  SignallingClient,
} from '../../src/client.js';

const loose = (value: unknown) => value as never;

describe('the options of resuming', () => {
  it('resumes by default, spreads drain reconnections over 5 s, and restarts ICE by default', () => {
    expect(clientDefaults.resume).toBe(true);
    expect(clientDefaults.drainReconnectWindow).toBe(5000);
    expect(peerConnectionManagerDefaults.iceRestart).toBe(true);
  });

  it('takes one URL or a non-empty list of them, and refuses anything else', () => {
    const one = new SignallingClient('ws://127.0.0.1:9/', { WebSocket });
    expect(one.urls).toEqual(['ws://127.0.0.1:9/']);
    expect(one.url).toBe('ws://127.0.0.1:9/');
    const given = ['ws://127.0.0.1:9/', 'ws://127.0.0.1:10/'];
    const two = new SignallingClient(given, { WebSocket });
    given.push('ws://changed/');
    expect(two.urls).toEqual(['ws://127.0.0.1:9/', 'ws://127.0.0.1:10/']);
    expect(Object.isFrozen(two.urls)).toBe(true);
    expect(two.url).toBe('ws://127.0.0.1:9/');
    for (const bad of [[], '', ['ws://a/', 5], undefined, { url: 'ws://a/' }]) {
      expect(() => new SignallingClient(loose(bad), { WebSocket })).toThrow(InvalidArgumentError);
    }
    expect(() => new SignallingClient([], { WebSocket })).toThrow(
      'Invalid argument url: expected a WebSocket URL or a non-empty array of them, got an array',
    );
  });

  it('checks resume, drainReconnectWindow and iceRestart', () => {
    expect(() => new SignallingClient('ws://a/', loose({ resume: 'yes' }))).toThrow(InvalidOptionError);
    expect(() => new SignallingClient('ws://a/', { drainReconnectWindow: -1 })).toThrow(InvalidOptionError);
    expect(() => new SignallingClient('ws://a/', { drainReconnectWindow: 1.5 })).toThrow(InvalidOptionError);
    expect(new SignallingClient('ws://a/', { drainReconnectWindow: 0, resume: false }).urls).toEqual(['ws://a/']);
    const client = new SignallingClient('ws://a/', { WebSocket });
    expect(() => new PeerConnectionManager(client, { RTCPeerConnection: wrtc.RTCPeerConnection, iceRestart: loose(1) })).toThrow(
      InvalidOptionError,
    );
    new PeerConnectionManager(client, { RTCPeerConnection: wrtc.RTCPeerConnection, iceRestart: false }).close();
  });
});
