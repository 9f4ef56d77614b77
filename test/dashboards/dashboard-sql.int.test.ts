import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouseTarget } from '../../services/core/clickhouse/client.ts';
import { migrate } from '../../services/core/clickhouse/migrations.ts';
import { asClickHouseSql, clickhouseQueries } from './dashboards.ts';

// The real ClickHouse engine with posguard's schema: every dashboard query must run against it.
const dataDir = mkdtempSync(join(tmpdir(), 'posguard-dashboards-'));
let target: ClickHouseTarget;

beforeAll(async () => {
  target = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
  await migrate(target.client, { database: 'posguard' });
});

afterAll(async () => {
  await target.client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('dashboard queries on the ClickHouse engine', () => {
  it.each(clickhouseQueries)('$where runs against the posguard schema', async ({ sql }) => {
    const result = await target.client.query({ query: asClickHouseSql(sql), format: 'JSONEachRow' });
    expect(Array.isArray(await result.json())).toBe(true);
  });
});
