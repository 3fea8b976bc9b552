/*
 * y-webrtc topics as hub rooms. A topic is any string a client picks (its
 * Yjs room name); a room name must follow the hub's name rules (no control,
 * format or separator characters, no lone surrogates, at most
 * `maxNameLength`). The room of a topic is the prefix and the topic with
 * those characters, and "%", percent-escaped: one to one, so the room
 * names its topic back.
 */

/** Characters a hub name may not hold (see protocol/names.ts), checked per code point. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const refused = /^(?:[\u0000-\u001f\u007f-\u009f%]|[\p{Cf}\p{Zl}\p{Zp}]|[\ud800-\udfff])$/u;
const joiners = /^[\u200c\u200d]$/;
const escapes = /%(?:u([0-9A-F]{4})|([0-9A-F]{2}))/g;

function escapeUnits(char: string): string {
  let out = '';
  for (let index = 0; index < char.length; index++) {
    const unit = char.charCodeAt(index);
    out +=
      unit < 0x100
        ? '%' + unit.toString(16).toUpperCase().padStart(2, '0')
        : '%u' + unit.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** The escaped form of a topic (without prefix): every character the name rules refuse, and "%", as `%XX` or `%uXXXX` per UTF-16 unit. */
export function escapeTopic(topic: string): string {
  let out = '';
  let plain = 0;
  let index = 0;
  // By code point: a surrogate pair is one (kept), a lone surrogate is refused (escaped).
  for (const char of topic) {
    if (refused.test(char) && !joiners.test(char)) {
      out += topic.slice(plain, index) + escapeUnits(char);
      plain = index + char.length;
    }
    index += char.length;
  }
  return plain === 0 ? topic : out + topic.slice(plain);
}

/**
 * The hub room of a y-webrtc topic: `prefix` + the topic, escaped as
 * {@link escapeTopic} says. A topic whose room is longer than the hub's
 * `maxNameLength` cannot be subscribed (`invalid-room`).
 * @example `roomOfTopic('doc 1')` is `'y-webrtc:doc 1'`, `roomOfTopic('50%')` is `'y-webrtc:50%25'`.
 */
export function roomOfTopic(topic: string, prefix = 'y-webrtc:'): string {
  return prefix + escapeTopic(topic);
}

/**
 * The y-webrtc topic of a hub room, or `undefined` for a room that is not
 * one (another prefix, or not made by {@link roomOfTopic}). For a host's
 * `authorizeJoin` hook: `const topic = topicOfRoom(context.room)`.
 */
export function topicOfRoom(room: string, prefix = 'y-webrtc:'): string | undefined {
  if (typeof room !== 'string' || !room.startsWith(prefix)) return undefined;
  const escaped = room.slice(prefix.length);
  const topic = escaped.replace(escapes, (_match, wide: string | undefined, narrow: string | undefined) =>
    String.fromCharCode(parseInt(wide ?? narrow!, 16)),
  );
  // Only the one escaped form of each topic names it.
  return escapeTopic(topic) === escaped ? topic : undefined;
}
