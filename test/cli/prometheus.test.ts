import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { cliMetrics } from '../../src/cli/metrics.js';
import { healthHandler, readinessCheck } from '../../src/ops/health.js';
import { SignallingHub } from '../../src/index.js';
import { registerHubMetrics } from '../../src/prometheus.js';
import { MemoryCluster } from '../../src/index.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { TestClient } from '../helpers/test-client.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function hubServer(): Promise<HubServer> {
  const running = await startHubServer();
  cleanup.push(() => running.close());
  return running;
}

async function client(url: string): Promise<TestClient> {
  const connected = await TestClient.connect(url);
  cleanup.push(() => connected.close());
  return connected;
}

/** Sample lines of an exposition, without comments, blank lines and process metrics. */
function samples(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('signalling_hub_'))
    .map((line) => line.replace(/ Nan$/, ' NaN')) // prom-client writes NaN as "Nan"; Prometheus reads both
    .sort();
}

describe('signalling-hub/prometheus', () => {
  it('registers the hub metrics on a registry of the host, read from hub.stats() at each scrape', async () => {
    const { hub, url } = await hubServer();
    const registry = new Registry();
    const metrics = registerHubMetrics(hub, { registry });
    cleanup.push(() => metrics.unregister());
    expect(metrics.names).toEqual([
      'signalling_hub_peers',
      'signalling_hub_connections',
      'signalling_hub_dropped_peers',
      'signalling_hub_logins_total',
      'signalling_hub_resumes_total',
      'signalling_hub_login_refusals_total',
      'signalling_hub_relays_total',
      'signalling_hub_relays_from_cluster_total',
      'signalling_hub_protocol_errors_total',
      'signalling_hub_closes_total',
      'signalling_hub_received_bytes_total',
      'signalling_hub_sent_bytes_total',
      'signalling_hub_queued_bytes',
      'signalling_hub_backplane_state',
    ]);
    const before = await registry.metrics();
    expect(before).toMatch(/^# TYPE signalling_hub_logins_total counter$/m);
    expect(before).toMatch(/^# TYPE signalling_hub_peers gauge$/m);
    expect(before).toMatch(/^signalling_hub_logins_total 0$/m);
    expect(before).toMatch(/^signalling_hub_backplane_state\{state="none"\} 1$/m);

    const a = await client(url);
    const b = await client(url);
    await a.login('Alice');
    await b.login('Bob');
    expect(await (await client(url)).login('Bob')).toMatchObject({ success: false, reason: 'name-taken' });
    a.send({ type: 'offer', offer: { sdp: 'x' }, name: 'Bob' });
    await b.nextOf('offer');
    expect(await a.request({ type: 'offer', offer: {}, name: 'Nobody' })).toMatchObject({ code: 'peer-not-found' });

    const after = await registry.metrics();
    expect(after).toMatch(/^signalling_hub_peers 2$/m);
    expect(after).toMatch(/^signalling_hub_connections 3$/m);
    expect(after).toMatch(/^signalling_hub_logins_total 2$/m);
    expect(after).toMatch(/^signalling_hub_login_refusals_total\{reason="name-taken"\} 1$/m);
    // A relay to nobody is counted as an error, not as a relay.
    expect(after).toMatch(/^signalling_hub_relays_total\{type="offer",scope="local"\} 1$/m);
    expect(after).toMatch(/^signalling_hub_protocol_errors_total\{code="peer-not-found"\} 1$/m);
    expect(after).not.toMatch(/Alice|Bob|Nobody/);
    // The CLI renders the same samples without prom-client.
    expect(samples(cliMetrics(hub))).toEqual(samples(after));

    metrics.unregister();
    expect(registry.getMetricsAsArray()).toEqual([]);
  });

  it('serves the backplane round trip only with a backplane: without one there is no series, not a NaN', async () => {
    const { hub } = await hubServer();
    expect(cliMetrics(hub)).not.toContain('round_trip');
    expect(cliMetrics(hub)).not.toMatch(/ NaN$/m);
    const clustered = new SignallingHub({ backplane: new MemoryCluster().backplane('node-1') });
    cleanup.push(() => clustered.close());
    await clustered.ready;
    const registry = new Registry();
    const metrics = registerHubMetrics(clustered, { registry });
    cleanup.push(() => metrics.unregister());
    expect(metrics.names).toContain('signalling_hub_backplane_round_trip_seconds');
    // No heartbeat measured yet (this backplane measures none): NaN, the same from both renderers.
    expect(cliMetrics(clustered)).toMatch(/^signalling_hub_backplane_round_trip_seconds NaN$/m);
    expect(samples(cliMetrics(clustered))).toEqual(samples(await registry.metrics()));
  });

  it('refuses a second registration on one registry (prom-client names are unique) unless prefixed', async () => {
    const { hub } = await hubServer();
    const registry = new Registry();
    registerHubMetrics(hub, { registry });
    expect(() => registerHubMetrics(hub, { registry })).toThrow(/already been registered/);
    const other = registerHubMetrics(hub, { registry, prefix: 'other_hub_' });
    expect(other.names[0]).toBe('other_hub_peers');
    expect(registry.getMetricsAsArray()).toHaveLength(28);
  });

  it('follows Prometheus naming: counters end in _total, units are base units, label names are bounded', async () => {
    const { hub } = await hubServer();
    const registry = new Registry();
    registerHubMetrics(hub, { registry });
    for (const metric of await registry.getMetricsAsJSON()) {
      expect(metric.name).toMatch(/^signalling_hub_[a-z_]+$/);
      if (String(metric.type) === 'counter') expect(metric.name).toMatch(/_total$/);
      else expect(metric.name).not.toMatch(/_total$/);
      expect(metric.name).not.toMatch(/_(ms|milliseconds|kb|kilobytes)(_|$)/);
      for (const value of metric.values) expect(Object.keys(value.labels)).not.toContain('name');
    }
  });
});

describe('health checks a host can mount', () => {
  async function hostWithHealth(): Promise<{ hub: HubServer['hub']; origin: string; server: Server }> {
    const running = await hubServer();
    // The host's own server, with the handler in front of its app.
    const health = healthHandler(running.hub, { server: running.server });
    const server = createServer((request, response) => {
      if (health(request, response)) return;
      response.end('app');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { hub: running.hub, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }

  it('answers /healthz and /readyz, passes other paths on, and says 503 once the hub is closed', async () => {
    const { hub, origin } = await hostWithHealth();
    expect(await (await fetch(`${origin}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${origin}/readyz?verbose`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { hub: 'open', server: 'listening', backplane: 'none' } });
    expect(await (await fetch(`${origin}/other`)).text()).toBe('app');
    expect((await fetch(`${origin}/healthz`, { method: 'HEAD' })).status).toBe(200);

    await hub.close();
    const closed = await fetch(`${origin}/readyz`);
    expect(closed.status).toBe(503);
    expect(await closed.json()).toMatchObject({ status: 'not-ready', checks: { hub: 'closed' } });
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
  });

  it('works as Express-style middleware and as a plain check', async () => {
    const { hub, server } = await hubServer();
    let shuttingDown = false;
    const check = readinessCheck(hub, { server, shuttingDown: () => shuttingDown });
    expect(check()).toEqual({ ready: true, checks: { hub: 'open', server: 'listening', backplane: 'none' } });
    shuttingDown = true;
    expect(check()).toMatchObject({ ready: false, checks: { hub: 'shutting-down' } });
    expect(readinessCheck(hub)()).toEqual({ ready: true, checks: { hub: 'open', backplane: 'none' } });

    let passed = 0;
    const middleware = healthHandler(hub, { livenessPath: '/live' });
    const handled = middleware({ url: '/healthz', method: 'GET' } as never, {} as never, () => passed++);
    expect(handled).toBe(false);
    expect(passed).toBe(1);

    // hub.drain(): new connections are refused, so the node is not ready either.
    shuttingDown = false;
    const drained = hub.drain();
    expect(check()).toMatchObject({ ready: false, checks: { hub: 'draining' } });
    await drained;
  });
});
