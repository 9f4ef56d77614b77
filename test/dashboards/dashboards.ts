/** The Grafana dashboards in dashboards/, and their queries in a form Prometheus can run. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DashboardTarget { refId: string; expr?: string; rawSql?: string; datasource?: { type: string; uid: string } }
export interface DashboardPanel { id: number; title: string; datasource?: { type: string; uid: string }; targets?: DashboardTarget[] }
export interface Dashboard { uid: string; title: string; panels: DashboardPanel[]; templating?: { list: { name: string; query?: { query: string } }[] } }

export const dashboardsDir = fileURLToPath(new URL('../../dashboards', import.meta.url));

export const dashboards: { file: string; dashboard: Dashboard }[] = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard }));

export const prometheusQueries = dashboards.flatMap(({ file, dashboard }) =>
  dashboard.panels.flatMap((panel) => (panel.targets ?? [])
    .filter((t) => (t.datasource ?? panel.datasource)?.type === 'prometheus' && t.expr !== undefined)
    .map((t) => ({ where: `${file} › ${panel.title} › ${t.refId}`, expr: t.expr! }))));

export const clickhouseQueries = dashboards.flatMap(({ file, dashboard }) =>
  dashboard.panels.flatMap((panel) => (panel.targets ?? [])
    .filter((t) => (t.datasource ?? panel.datasource)?.type === 'grafana-clickhouse-datasource' && t.rawSql !== undefined)
    .map((t) => ({ where: `${file} › ${panel.title} › ${t.refId}`, sql: t.rawSql! }))));

/** The ClickHouse plugin's time macro, as the plugin expands it: the last 30 days, or the range `from`–`to` (ClickHouse DateTime literals). */
export function asClickHouseSql(sql: string, range?: { from: string; to: string }): string {
  return sql.replace(/\$__timeFilter\(([^)]+)\)/g, (_m, column: string) => (range === undefined
    ? `${column} >= now() - INTERVAL 30 DAY AND ${column} <= now()`
    : `${column} >= toDateTime64('${range.from}', 3, 'UTC') AND ${column} <= toDateTime64('${range.to}', 3, 'UTC')`));
}

/** Grafana's interval macros, replaced by what Grafana would put there for a 30-minute view, and the template variables set to All. */
export function asPromQL(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s').replaceAll('$__range', '30m')
    .replaceAll('$service', '.*').replaceAll('$instance', '.*');
}

/** The metrics (as exposed: histograms by their base name) the alerting rules read. */
export function metricsOfRules(rulesYaml: string): string[] {
  return [...new Set([...rulesYaml.matchAll(/\b(posguard_[a-z_]+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]!))].sort();
}
