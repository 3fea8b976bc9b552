import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SignallingHub } from '../../src/index.js';
import { RedisBackplane } from '../../src/redis.js';

/** The message of what `make` throws (it must throw an InvalidOptionError). */
function messageOf(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('an option error never echoes a secret', () => {
  it('turn given as the secret itself (turn: process.env.TURN_SECRET)', () => {
    const message = messageOf(() => new SignallingHub({ turn: 'secret-value' as never }));
    expect(message).toContain('turn');
    expect(message).toContain('a string of 12 characters (not shown)');
    expect(message).not.toContain('secret-value');
  });

  it('turn.secret of the wrong type, turn.secret as a number', () => {
    const urls = ['turn:turn.example.org:3478'];
    const asNumber = messageOf(() => new SignallingHub({ turn: { secret: 31415926 as never, urls } }));
    expect(asNumber).toContain('turn.secret');
    expect(asNumber).not.toContain('31415926');
    const inArray = messageOf(() => new SignallingHub({ turn: { secret: ['good-one', ''] as never, urls } }));
    expect(inArray).not.toContain('good-one');
  });

  it('a Redis URL with a password: the password is hidden, whatever characters it holds', () => {
    for (const url of [
      'redis://u:pa/ss@h ost',
      'redis://u:pa/ss@host',
      'http://user:hunter2@127.0.0.1:6379',
      'rediss://:p@ss w0rd@h:99999',
    ]) {
      const message = messageOf(() => new RedisBackplane({ url }));
      expect(message).toContain('Invalid option url');
      expect(message).toContain(':***@');
      for (const secret of ['pa/ss', 'hunter2', 'p@ss', 'w0rd']) expect(message).not.toContain(secret);
    }
  });

  it('a valid Redis URL with a password is still taken', () => {
    expect(() => new RedisBackplane({ url: 'redis://user:pa%2Fss@127.0.0.1:6379/0' })).not.toThrow();
  });
});
