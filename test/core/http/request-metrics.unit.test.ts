import { describe, expect, it } from 'vitest';
import { buildServiceApp } from '../../../services/core/http/service-app.ts';
import { createLogger } from '../../../services/core/observability/logging.ts';
import { createMetrics } from '../../../services/core/observability/metrics.ts';

describe('HTTP request metrics', () => {
  it('count and time each answer by method, route pattern and status, never by the URL a client sent', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const app = buildServiceApp({ service: 'probe', logger: createLogger({ level: 'silent' }), metrics });
    app.get('/v1/alerts/:alertId', async () => ({}));
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/v1/alerts/4111111111111111' });
    await app.inject({ method: 'GET', url: '/no/such/4111111111111111' });
    const counts = (await metrics.get('posguard_http_request_duration_seconds').get()).values
      .filter((v) => v.metricName?.endsWith('_count')).map((v) => `${v.labels.method} ${v.labels.route} ${v.labels.status} ${v.value}`).sort();
    expect(counts).toEqual(['GET /healthz 200 2', 'GET /v1/alerts/:alertId 200 1', 'GET unmatched 404 1']);
    expect(await metrics.registry.metrics()).not.toContain('4111');
    await app.close();
  });
});
