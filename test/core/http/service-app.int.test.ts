import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServiceApp } from '../../../services/core/http/service-app.ts';
import { createLogger } from '../../../services/core/observability/logging.ts';
import { createMetrics } from '../../../services/core/observability/metrics.ts';
import { registerScrapeTarget } from '../../../services/core/observability/prometheus-targets.ts';
import { waitFor } from '../../support/wait.ts';

const { prometheusUrl, prometheusTargetsDir } = inject('endpoints');
const metrics = createMetrics();
let ready = false;
const app = buildServiceApp({
  service: 'probe',
  logger: createLogger({ level: 'silent' }),
  metrics,
  readiness: [{ name: 'caught-up', check: async () => (ready ? undefined : 'still replaying profiles') }],
});
let unregister = () => {};
let instance = '';

async function promql(query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

beforeAll(async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  instance = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  unregister();
  await app.close();
});

describe('the service HTTP shell', () => {
  it('answers /healthz at once and /readyz only when every check passes', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json().checks).toEqual([{ name: 'caught-up', reason: 'still replaying profiles' }]);
    ready = true;
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it.runIf(prometheusUrl !== undefined && prometheusTargetsDir !== undefined)('is scraped by a real Prometheus, which answers PromQL about it', async () => {
    metrics.get('posguard_records_consumed_total').inc({ service: 'probe', topic: 'auth.requests.v1' }, 42);
    unregister = registerScrapeTarget(prometheusTargetsDir!, `probe-${randomUUID()}`, { address: instance, labels: { service: 'probe' } });

    const up = await waitFor('Prometheus to scrape the probe', async () => {
      const result = await promql(`up{job="posguard",instance="${instance}"}`);
      return result.length > 0 && result[0]!.value[1] === '1' ? result : undefined;
    }, 60_000);
    expect(up[0]!.metric.service).toBe('probe');

    const consumed = await promql(`sum(posguard_records_consumed_total{instance="${instance}",topic="auth.requests.v1"})`);
    expect(Number(consumed[0]!.value[1])).toBe(42);
  });
});
