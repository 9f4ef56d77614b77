import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metricCatalog } from '../../services/core/observability/metrics.ts';
import { clickhouseQueries, dashboards, prometheusQueries } from './dashboards.ts';

const provisioned = readFileSync(new URL('../../infra/grafana/provisioning/datasources/datasources.yml', import.meta.url), 'utf8');
const provisionedUids = [...provisioned.matchAll(/uid: (\S+)/g)].map((m) => m[1]);

describe('Grafana dashboards', () => {
  it('exist', () => {
    expect(dashboards.length).toBeGreaterThan(0);
  });

  it.each(dashboards)('$file has a uid, a title, and panels on provisioned datasources', ({ dashboard }) => {
    expect(dashboard.uid).toMatch(/^posguard-/);
    expect(dashboard.title).toBeTruthy();
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(provisionedUids, panel.title).toContain(panel.datasource?.uid);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('filter every Prometheus panel by the service and instance template variables', () => {
    const overview = dashboards.find((d) => d.file === 'posguard-overview.json')!.dashboard;
    expect(overview.templating?.list.map((v) => v.name)).toEqual(['service', 'instance']);
    for (const { where, expr } of prometheusQueries) {
      expect(expr, where).toContain('service=~"$service"');
      expect(expr, where).toContain('instance=~"$instance"');
    }
  });

  it('have ClickHouse panels for fraud teams as well as Prometheus panels for SREs', () => {
    expect(clickhouseQueries.length).toBeGreaterThan(0);
    expect(prometheusQueries.length).toBeGreaterThan(0);
  });

  it('query only metrics that posguard exports (or Prometheus itself)', () => {
    const known = new Set([...Object.keys(metricCatalog), 'up']);
    for (const { where, expr } of prometheusQueries) {
      const names = [...expr.matchAll(/\b(posguard_[a-z_]+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]!);
      for (const name of names) expect(known.has(name) || known.has(name.replace(/_(bucket|sum|count)$/, '')), `${where}: ${name}`).toBe(true);
    }
  });
});
