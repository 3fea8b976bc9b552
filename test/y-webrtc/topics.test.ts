import { describe, expect, it } from 'vitest';
import { checkName } from '../../src/protocol/names.js';
import { roomOfTopic, topicOfRoom } from '../../src/y-webrtc.js';

describe('y-webrtc topics as room names', () => {
  const topics = [
    'doc 1',
    '',
    '50%',
    '%25',
    'a\u0000b\u007f',
    'x\u202ey\u2028',
    'e\u200d\u200c',
    '\ud800z',
    'z\udc00',
    '😀',
    'tag\u{E0041}',
    'ü "q" \\',
  ];

  it.each(topics)('maps %j one to one onto a name the hub takes', (topic) => {
    const room = roomOfTopic(topic);
    expect(room.startsWith('y-webrtc:')).toBe(true);
    expect(checkName(room, 4096)).toBeUndefined();
    expect(topicOfRoom(room)).toBe(topic);
  });

  it('keeps names that need no escape as they are, and escapes "%" so no two topics meet', () => {
    expect(roomOfTopic('doc 1')).toBe('y-webrtc:doc 1');
    expect(roomOfTopic('50%')).toBe('y-webrtc:50%25');
    expect(roomOfTopic('%25')).toBe('y-webrtc:%2525');
    expect(roomOfTopic('a\u0000')).toBe('y-webrtc:a%00');
    expect(roomOfTopic('x\u202e')).toBe('y-webrtc:x%u202E');
    expect(new Set(topics.map((topic) => roomOfTopic(topic))).size).toBe(topics.length);
  });

  it('names no topic for rooms it did not make', () => {
    expect(topicOfRoom('lobby')).toBeUndefined();
    expect(topicOfRoom('y-webrtc:%zz')).toBeUndefined();
    expect(topicOfRoom('y-webrtc:%41')).toBeUndefined(); // "A" needs no escape: not the form roomOfTopic makes
    expect(topicOfRoom('other:doc', 'y-webrtc:')).toBeUndefined();
    expect(topicOfRoom(roomOfTopic('doc', 'yjs/'), 'yjs/')).toBe('doc');
  });
});
