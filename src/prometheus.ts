/**
 * `signalling-hub/prometheus`: the hub's counters and gauges as Prometheus
 * metrics on a `prom-client` registry of the host's (prom-client ≥ 15, an
 * optional peer dependency). The metrics read `hub.stats()` when they are
 * scraped: nothing is counted twice and nothing runs between scrapes.
 *
 * @example
 * ```ts
 * import { Registry, collectDefaultMetrics } from 'prom-client';
 * import { registerHubMetrics } from 'signalling-hub/prometheus';
 *
 * const registry = new Registry();
 * collectDefaultMetrics({ register: registry });
 * registerHubMetrics(hub, { registry });
 * app.get('/metrics', async (_request, response) => {
 *   response.type(registry.contentType).send(await registry.metrics());
 * });
 * ```
 * @module
 */
import { Counter, Gauge, register as defaultRegistry, type Registry } from 'prom-client';
import type { HubStats } from './core/stats.js';
import { METRIC_PREFIX, metricFamiliesFor, type StatsSource } from './ops/metrics.js';

export type { StatsSource } from './ops/metrics.js';
export type { HubStats, RelayCounts } from './core/stats.js';

/** Options of {@link registerHubMetrics}. */
export interface HubMetricsOptions {
  /**
   * The registry to register on.
   * @default prom-client's default registry (`register`)
   */
  registry?: Registry;
  /**
   * Prefix of every metric name, e.g. to tell two hubs of one process apart.
   * @default 'signalling_hub_'
   */
  prefix?: string;
}

/** What {@link registerHubMetrics} registered. */
export interface HubMetrics {
  /** The full names of the registered metrics. */
  readonly names: readonly string[];
  /** Removes the metrics from the registry (e.g. when the hub is closed for good). */
  unregister(): void;
}

/**
 * Registers the hub's metrics on a prom-client registry:
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `signalling_hub_peers` | gauge | |
 * | `signalling_hub_connections` | gauge | |
 * | `signalling_hub_logins_total` | counter | |
 * | `signalling_hub_login_refusals_total` | counter | `reason` |
 * | `signalling_hub_relays_total` | counter | `type` (offer, answer, candidate, leave), `scope` (local, cross-node) |
 * | `signalling_hub_relays_from_cluster_total` | counter | |
 * | `signalling_hub_protocol_errors_total` | counter | `code` |
 * | `signalling_hub_closes_total` | counter | `code` (WebSocket close code) |
 * | `signalling_hub_received_bytes_total`, `signalling_hub_sent_bytes_total` | counter | |
 * | `signalling_hub_queued_bytes` | gauge | |
 * | `signalling_hub_backplane_state` | gauge (1 for the current state) | `state` |
 * | `signalling_hub_backplane_round_trip_seconds` | gauge (only with a backplane; NaN before its first heartbeat) | |
 *
 * No label ever carries a peer's name.
 * @throws when a metric of the same name is already registered (prom-client's error).
 */
export function registerHubMetrics(hub: StatsSource, options: HubMetricsOptions = {}): HubMetrics {
  const registry = options.registry ?? defaultRegistry;
  const prefix = options.prefix ?? METRIC_PREFIX;
  // One snapshot per scrape: the registry collects every metric in the same tick.
  let snapshot: HubStats | undefined;
  const read = (): HubStats => {
    if (snapshot === undefined) {
      snapshot = hub.stats();
      queueMicrotask(() => (snapshot = undefined));
    }
    return snapshot;
  };
  const names: string[] = [];
  try {
    for (const family of metricFamiliesFor(hub.stats())) {
      const name = prefix + family.name;
      const labelNames = [...family.labelNames];
      // Both read the hub's counters at scrape time; a counter is set by `inc` after `reset`.
      const counter = family.type === 'counter';
      const Metric = counter ? Counter : Gauge;
      new Metric({
        name,
        help: family.help,
        labelNames,
        registers: [registry],
        collect(this: Counter | Gauge) {
          this.reset();
          for (const { labels, value } of family.samples(read())) {
            const metric = this as Counter & Gauge;
            const write = counter ? metric.inc.bind(metric) : metric.set.bind(metric);
            if (labelNames.length === 0) write(value);
            else write(labels, value);
          }
        },
      });
      names.push(name);
    }
  } catch (error) {
    for (const name of names) registry.removeSingleMetric(name);
    throw error;
  }
  return {
    names,
    unregister() {
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}
