import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalog } from '../../services/core/errors.ts';
import { createMetrics, metricCatalog } from '../../services/core/observability/metrics.ts';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

describe('the error registry', () => {
  it('documents every code in docs/ERRORS.md, with its HTTP status', () => {
    const errors = doc('ERRORS.md');
    for (const [code, spec] of Object.entries(errorCatalog)) {
      expect(code).toMatch(/^POSGUARD_ERR_[A-Z]+_[A-Z_]+$/);
      expect(errors, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${spec.status} \\| ${spec.retriable ? 'yes' : 'no'} \\|`));
    }
  });
});

describe('the metric catalog', () => {
  it('documents every metric in docs/METRICS.md', () => {
    const metrics = doc('METRICS.md');
    for (const name of Object.keys(metricCatalog)) expect(metrics, name).toContain(`\`${name}\``);
  });

  it('gets the same metric by name twice and exports it', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.get('posguard_records_consumed_total').inc({ service: 'sink', topic: 'auth.requests.v1' }, 3);
    metrics.get('posguard_records_consumed_total').inc({ service: 'sink', topic: 'auth.requests.v1' }, 2);
    expect(await metrics.registry.metrics()).toContain('posguard_records_consumed_total{service="sink",topic="auth.requests.v1"} 5');
  });
});
