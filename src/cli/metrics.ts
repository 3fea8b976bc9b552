import { type MetricFamily, METRIC_PREFIX, metricFamiliesFor, renderMetrics } from '../ops/metrics.js';
import type { StatsSource } from '../ops/metrics.js';

const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());

/** A few of the process metrics prom-client's `collectDefaultMetrics()` gives, under the same names. */
const processFamilies: readonly MetricFamily<undefined>[] = [
  {
    name: 'process_cpu_seconds_total',
    type: 'counter',
    help: 'Total user and system CPU time spent in seconds.',
    labelNames: [],
    samples: () => {
      const { user, system } = process.cpuUsage();
      return [{ labels: {}, value: (user + system) / 1e6 }];
    },
  },
  {
    name: 'process_resident_memory_bytes',
    type: 'gauge',
    help: 'Resident memory size in bytes.',
    labelNames: [],
    samples: () => [{ labels: {}, value: process.memoryUsage.rss() }],
  },
  {
    name: 'process_start_time_seconds',
    type: 'gauge',
    help: 'Start time of the process since unix epoch in seconds.',
    labelNames: [],
    samples: () => [{ labels: {}, value: startTimeSeconds }],
  },
  {
    name: 'nodejs_heap_size_used_bytes',
    type: 'gauge',
    help: 'Process heap size used from Node.js in bytes.',
    labelNames: [],
    samples: () => [{ labels: {}, value: process.memoryUsage().heapUsed }],
  },
];

/** The CLI's `GET /metrics` body: the hub's metrics and a few of the process's, without prom-client. */
export function cliMetrics(hub: StatsSource): string {
  const stats = hub.stats();
  return renderMetrics(metricFamiliesFor(stats), stats, METRIC_PREFIX) + renderMetrics(processFamilies, undefined);
}
