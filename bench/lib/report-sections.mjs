// The sections of issues #19 (relay policy), #20 (rooms over two nodes) and #21 (the y-webrtc dialect):
// their medians, the numbers their targets are judged on (report.mjs lists the targets), and their text.
import { median } from './proc.mjs';

const fmt = (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const ratio = (v, base) => (Number.isFinite(v) && Number.isFinite(base) && base !== 0 ? v / base : NaN);
const m = (runs, pick) => median((runs ?? []).map(pick));
/** `; per round a–b×` over the rounds of two interleaved lists, or '' with fewer than two. */
function perRound(runs, base, pick) {
  const ratios = (runs ?? [])
    .map((r, i) => ratio(pick(r), base?.[i] === undefined ? NaN : pick(base[i])))
    .filter(Number.isFinite);
  if (ratios.length < 2) return '';
  return `; per round ${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}×, median ${fmt(median(ratios), 2)}×`;
}

const roomsTotal = (r) => r.hubCpuPerMsg + r.redisCpuPerMsg;
const rounds = (n) => `${n} round${n === 1 ? '' : 's'}`;

/** The numbers the targets of these sections are judged on (NaN: not measured). */
export function sectionFigures({ authorize, rooms, dialects }) {
  const cpu = (r) => r.cpuPerMsg;
  const without = m(authorize?.without, cpu);
  const withHook = m(authorize?.with, cpu);
  const one = m(rooms?.one, (r) => r.hubCpuPerMsg);
  const two = m(rooms?.two, roomsTotal);
  const reference = m(dialects?.['y-webrtc'], cpu);
  const dialect = m(dialects?.['hub-y-webrtc'], cpu);
  return {
    authorize: {
      ratio: ratio(withHook, without),
      text: `${fmt(withHook, 2)} µs vs ${fmt(without, 2)} µs = ${fmt(ratio(withHook, without), 2)}×${perRound(authorize?.with, authorize?.without, cpu)}`,
    },
    rooms: {
      ratio: ratio(two, one),
      text: `${fmt(two, 2)} µs (hubs + Redis) vs ${fmt(one, 2)} µs = ${fmt(ratio(two, one), 2)}×${perRound(rooms?.two, rooms?.one, roomsTotal)}`,
    },
    yWebrtc: {
      ratio: ratio(dialect, reference),
      text: `${fmt(dialect, 2)} µs vs ${fmt(reference, 2)} µs = ${fmt(ratio(dialect, reference), 2)}×${perRound(dialects?.['hub-y-webrtc'], dialects?.['y-webrtc'], cpu)}`,
    },
  };
}

/** Lines for the stdout summary. */
export function sectionText({ authorize, rooms, dialects }) {
  const lines = [];
  const cpu = (r) => r.cpuPerMsg;
  if (authorize?.without?.length > 0) {
    lines.push(
      `Relay policy: hub ${fmt(m(authorize.without, cpu), 2)} µs/msg, with authorizeRelay ${fmt(m(authorize.with, cpu), 2)} µs/msg`,
    );
  }
  if (rooms?.one?.length > 0) {
    lines.push(
      `Rooms (100 members): one hub ${fmt(
        m(rooms.one, (r) => r.hubCpuPerMsg),
        2,
      )} µs/delivery; two hubs` +
        ` ${fmt(
          m(rooms.two, (r) => r.hubCpuPerMsg),
          2,
        )} µs + Redis ${fmt(
          m(rooms.two, (r) => r.redisCpuPerMsg),
          2,
        )} µs/delivery`,
    );
  }
  if (dialects?.['y-webrtc']?.length > 0) {
    lines.push(
      `y-webrtc: bin/server.js ${fmt(m(dialects['y-webrtc'], cpu), 2)} µs/delivery, hub's y-webrtc dialect` +
        ` ${fmt(m(dialects['hub-y-webrtc'], cpu), 2)} µs, hub's own protocol ${fmt(m(dialects['hub-own'], cpu), 2)} µs`,
    );
  }
  return lines;
}

/** The markdown of the three sections (each says when it was not measured). */
export function sectionsMarkdown({ authorize, rooms, dialects, config }) {
  const cpu = (r) => r.cpuPerMsg;
  const authorizeSection =
    authorize?.without?.length > 0
      ? `The hub with an \`authorizeRelay\` hook (\`bench/servers/hub-authorize.mjs\`: a lookup of the sender's allowed targets in a \`Map\` of \`Set\`s, allowing every pair of the load) against the same hub without one: the same ${config.pairs} pairs and window at full load. Both servers run for the whole section: a warm-up window each (${fmt((config.authorizeWarmMs ?? NaN) / 1000, 1)} s), then ${rounds(authorize.without.length)} of one ${fmt(config.measureMs / 1000, 1)} s window each in ABBA order (without, with; with, without; …), so JIT state and the machine's drift hit both alike. Judged, like every target here, on the ratio of the medians over rounds; the per-round range is shown beside it.

| hub | relayed msgs/s | server CPU / relayed msg (µs) |
|:--|--:|--:|
| without \`authorizeRelay\` | ${fmt(m(authorize.without, (r) => r.rate))} | ${fmt(m(authorize.without, cpu), 2)} |
| with \`authorizeRelay\` | ${fmt(m(authorize.with, (r) => r.rate))} | ${fmt(m(authorize.with, cpu), 2)} |`
      : 'Not measured in this run (`--no-authorize`, or results saved before this section existed).';
  const roomsSection =
    rooms?.one?.length > 0
      ? `A room of 100 members (plain \`ws\` clients), one of them broadcasting a 90-byte message 400 times a second (four every 10 ms, leaving in one write as the relay load's do; 39,600 deliveries a second): on one hub, and with the members alternating over two hubs joined through Redis (\`RedisBackplane\`, default options, a local \`redis-server\` with persistence off). Both setups run for the whole section with their rooms joined: a warm-up window each (${fmt((config.roomsWarmMs ?? NaN) / 1000, 1)} s), then ${rounds(rooms.one.length)} of one ${fmt((config.roomsMeasureMs ?? NaN) / 1000, 1)} s window each in ABBA order; only the setup being measured broadcasts. Judged on the ratio of the medians over rounds. CPU per delivered broadcast; for two nodes, both hubs and Redis (Redis's from \`INFO cpu\`). A broadcast crosses Redis once per other node holding members (the broadcasts of one event-loop turn share one call).

| setup | deliveries/s | hub CPU / delivery (µs, all hubs) | per node (sender's + other) | Redis CPU / delivery (µs) |
|:--|--:|--:|--:|--:|
| one hub | ${fmt(m(rooms.one, (r) => r.rate))} | ${fmt(
          m(rooms.one, (r) => r.hubCpuPerMsg),
          2,
        )} | – | – |
| two hubs through Redis | ${fmt(m(rooms.two, (r) => r.rate))} | ${fmt(
          m(rooms.two, (r) => r.hubCpuPerMsg),
          2,
        )} | ${fmt(
          m(rooms.two, (r) => r.perNode[0]),
          2,
        )} + ${fmt(
          m(rooms.two, (r) => r.perNode[1]),
          2,
        )} | ${fmt(
          m(rooms.two, (r) => r.redisCpuPerMsg),
          2,
        )} |`
      : 'Not measured in this run (`--no-rooms`, no `redis-server`, or results saved before this section existed).';
  const dialectSection =
    dialects?.['y-webrtc']?.length > 0
      ? `Plain \`ws\` clients speaking each server's wire, the same shape for all (one frame in, two out), ${rounds(dialects['y-webrtc'].length)} interleaved: for y-webrtc, 64 topics of two subscribers, one of each publishing a signal-sized message (~330 bytes) that goes to the other and back to itself (as \`bin/server.js\` echoes it), 8,000 publishes a second; for the hub's own protocol, 64 rooms of three, one member of each broadcasting the same data to the two others at the same rate. Server CPU per delivered message. (The PeerJS dialect is in the main table: the same PeerJS clients against PeerJS server and against \`attachPeerjs()\`.)

| server | deliveries/s | server CPU / delivered msg (µs) |
|:--|--:|--:|
| y-webrtc's \`bin/server.js\` | ${fmt(m(dialects['y-webrtc'], (r) => r.rate))} | ${fmt(m(dialects['y-webrtc'], cpu), 2)} |
| signalling-hub, y-webrtc dialect (\`attachYWebrtc()\`) | ${fmt(m(dialects['hub-y-webrtc'], (r) => r.rate))} | ${fmt(m(dialects['hub-y-webrtc'], cpu), 2)} |
| signalling-hub, its own protocol (room broadcast) | ${fmt(m(dialects['hub-own'], (r) => r.rate))} | ${fmt(m(dialects['hub-own'], cpu), 2)} |`
      : 'Not measured in this run (`--no-dialects`, or results saved before this section existed).';
  return `## Relay policy (\`authorizeRelay\`)

${authorizeSection}

## Rooms across nodes

${roomsSection}

## Dialects: y-webrtc

${dialectSection}`;
}
