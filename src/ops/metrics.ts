import type { HubStats } from '../core/stats.js';

/** What metrics and health checks read: a hub (any object with `stats()`). */
export interface StatsSource {
  stats(): HubStats;
}

/** One sample of a metric family. */
export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * One metric family in Prometheus terms, read from a {@link HubStats} at
 * scrape time. Label values come from bounded sets only (relay type, scope,
 * refusal reason, error code, close code): never a peer's name.
 */
export interface MetricFamily<Source = HubStats> {
  /** Name without the `signalling_hub_` prefix. */
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
  /** Only served by a hub with a backplane (it would have no value at all without one). */
  readonly backplaneOnly?: true;
  samples(source: Source): readonly MetricSample[];
}

const one = (value: number): MetricSample[] => [{ labels: {}, value }];

const byKey = (label: string, counts: Readonly<Record<string, number>>): MetricSample[] =>
  Object.entries(counts).map(([key, value]) => ({ labels: { [label]: key }, value }));

/** Every state a backplane reports, and `none` without one: one series each, 1 for the current state. */
export const backplaneStates = ['none', 'connecting', 'connected', 'disconnected', 'closed'] as const;

/** The hub's metric families; names follow Prometheus conventions (`_total` counters, base units). */
export const hubMetricFamilies: readonly MetricFamily[] = [
  { name: 'peers', type: 'gauge', help: 'Logged-in peers on this node.', labelNames: [], samples: (s) => one(s.peers) },
  {
    name: 'connections',
    type: 'gauge',
    help: 'Open connections on this node, logged in or not.',
    labelNames: [],
    samples: (s) => one(s.connections),
  },
  {
    name: 'dropped_peers',
    type: 'gauge',
    help: 'Resumable peers that dropped and whose names are reserved for the resume grace.',
    labelNames: [],
    samples: (s) => one(s.droppedPeers),
  },
  { name: 'logins_total', type: 'counter', help: 'Successful logins.', labelNames: [], samples: (s) => one(s.logins) },
  {
    name: 'resumes_total',
    type: 'counter',
    help: 'Peers that came back with their token.',
    labelNames: [],
    samples: (s) => one(s.resumes),
  },
  {
    name: 'login_refusals_total',
    type: 'counter',
    help: 'Refused logins, by reason.',
    labelNames: ['reason'],
    samples: (s) => byKey('reason', s.loginRefusals),
  },
  {
    name: 'relays_total',
    type: 'counter',
    help: "Relays sent by this node's peers, by message type and scope (local: to a peer on this node; cross-node: through the backplane).",
    labelNames: ['type', 'scope'],
    samples: (s) =>
      Object.entries(s.relays).flatMap(([type, counts]) => [
        { labels: { type, scope: 'local' }, value: counts.local },
        { labels: { type, scope: 'cross-node' }, value: counts.crossNode },
      ]),
  },
  {
    name: 'relays_from_cluster_total',
    type: 'counter',
    help: "Relays from other nodes delivered to this node's peers.",
    labelNames: [],
    samples: (s) => one(s.relaysFromCluster),
  },
  {
    name: 'protocol_errors_total',
    type: 'counter',
    help: 'Error replies and refused logins, by code.',
    labelNames: ['code'],
    samples: (s) => byKey('code', s.protocolErrors),
  },
  {
    name: 'closes_total',
    type: 'counter',
    help: 'Closed connections, by WebSocket close code ("none" when there was none).',
    labelNames: ['code'],
    samples: (s) => byKey('code', s.closes),
  },
  {
    name: 'received_bytes_total',
    type: 'counter',
    help: 'Bytes of frames received from clients.',
    labelNames: [],
    samples: (s) => one(s.bytesIn),
  },
  {
    name: 'sent_bytes_total',
    type: 'counter',
    help: 'Bytes of frames sent to clients.',
    labelNames: [],
    samples: (s) => one(s.bytesOut),
  },
  {
    name: 'queued_bytes',
    type: 'gauge',
    help: 'Bytes queued to clients and not yet written, summed over connections.',
    labelNames: [],
    samples: (s) => one(s.queuedBytes),
  },
  {
    name: 'backplane_state',
    type: 'gauge',
    help: 'State of the cluster backplane: 1 for the current state, 0 for the others ("none" without a backplane).',
    labelNames: ['state'],
    samples: (s) => backplaneStates.map((state) => ({ labels: { state }, value: s.backplane.state === state ? 1 : 0 })),
  },
  {
    name: 'backplane_round_trip_seconds',
    type: 'gauge',
    help: "Round trip of the backplane's last successful heartbeat (NaN before the first one). Only with a backplane.",
    labelNames: [],
    backplaneOnly: true,
    samples: (s) => one(s.backplane.roundTripMs === undefined ? NaN : s.backplane.roundTripMs / 1000),
  },
];

/**
 * The families a hub serves: all of them with a backplane; without one (it never gets one later),
 * none that would only ever read NaN.
 */
export function metricFamiliesFor(stats: HubStats): readonly MetricFamily[] {
  return stats.backplane.state === 'none'
    ? hubMetricFamilies.filter((family) => family.backplaneOnly !== true)
    : hubMetricFamilies;
}

/** The prefix of every metric of the hub. */
export const METRIC_PREFIX = 'signalling_hub_';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** The content type of {@link renderMetrics}' output (Prometheus text format 0.0.4). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Renders families read from `source` in the Prometheus text exposition format. */
export function renderMetrics<Source>(families: readonly MetricFamily<Source>[], source: Source, prefix = ''): string {
  let text = '';
  for (const family of families) {
    const name = prefix + family.name;
    text += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`;
    for (const { labels, value } of family.samples(source)) {
      const pairs = Object.entries(labels).map(([label, labelValue]) => `${label}="${escapeLabel(labelValue)}"`);
      text += `${name}${pairs.length === 0 ? '' : `{${pairs.join(',')}}`} ${formatValue(value)}\n`;
    }
  }
  return text;
}
