import { describe, expect, inject, it } from 'vitest';
import { asPromQL, prometheusQueries } from './dashboards.ts';

const { prometheusUrl } = inject('endpoints');

describe.runIf(prometheusUrl !== undefined)('dashboard queries on a real Prometheus', () => {
  it.each(prometheusQueries)('$where is valid PromQL', async ({ expr }) => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(asPromQL(expr))}`);
    const body = (await response.json()) as { status: string; error?: string };
    expect(body.error).toBeUndefined();
    expect(body.status).toBe('success');
  });
});
