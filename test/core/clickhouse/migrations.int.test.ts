import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { savedQueriesWithExampleParameters } from '../../support/saved-queries.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouseTarget } from '../../../services/core/clickhouse/client.ts';
import { migrate, migrationsDir } from '../../../services/core/clickhouse/migrations.ts';
import { isPosguardError } from '../../../services/core/errors.ts';

// The real ClickHouse engine (chDB) in this test file's own process, under a fresh directory.
const dataDir = mkdtempSync(join(tmpdir(), 'posguard-ch-'));
let target: ClickHouseTarget;

async function rows<T>(query: string): Promise<T[]> {
  return (await target.client.query({ query, format: 'JSONEachRow' })).json<T>();
}

beforeAll(async () => {
  target = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
});

afterAll(async () => {
  await target.client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ClickHouse migrations on the chDB engine', () => {
  it('create database posguard with a table per topic', async () => {
    const report = await migrate(target.client, { database: 'posguard' });
    expect(report.applied.length).toBeGreaterThanOrEqual(7);
    const tables = await rows<{ name: string; engine: string }>("SELECT name, engine FROM system.tables WHERE database = 'posguard' ORDER BY name");
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining([
      'alerts', 'auth_events', 'card_outcomes', 'dead_letters', 'enriched_auths', 'merchants', 'schema_migrations', 'terminals',
    ]));
    expect(tables.filter((t) => t.name !== 'schema_migrations' && t.engine !== 'View').every((t) => t.engine === 'ReplacingMergeTree')).toBe(true);
  });

  it('apply nothing the second time', async () => {
    const before = await rows<{ n: string }>('SELECT count() AS n FROM posguard.schema_migrations');
    const report = await migrate(target.client, { database: 'posguard' });
    expect(report.applied).toEqual([]);
    expect(report.alreadyApplied.length).toBe(Number(before[0]!.n));
    expect(await rows('SELECT count() AS n FROM posguard.schema_migrations')).toEqual(before);
  });

  it('read back the rows inserted through the client, equal, and count a re-delivered row once', async () => {
    const outcome = {
      outcomeId: 'iss-22:cb:88125',
      cardToken: 'tok_7f3a9c1e5b2d4a60',
      kind: 'CHARGEBACK',
      fraudRelated: true,
      reportedAt: 1796468400123,
      disputedEventIds: ['acq-eu-01:2026-12-02:000913554'],
      note: 'Visa reason 10.4',
    };
    await target.client.insert({ table: 'posguard.card_outcomes', values: [outcome], format: 'JSONEachRow' });
    await target.client.insert({ table: 'posguard.card_outcomes', values: [outcome], format: 'JSONEachRow' });
    const back = await rows<Record<string, unknown>>(
      'SELECT outcomeId, cardToken, kind, fraudRelated, toUnixTimestamp64Milli(reportedAt) AS reportedAt, disputedEventIds, note FROM posguard.card_outcomes FINAL');
    expect(back).toEqual([outcome]);
  });

  it('refuse to run when an applied migration was edited', async () => {
    const edited = mkdtempSync(join(tmpdir(), 'posguard-migrations-'));
    cpSync(migrationsDir, edited, { recursive: true });
    appendFileSync(join(edited, '0001_auth_events.sql'), '\n-- an edit after the fact\n');
    try {
      await expect(migrate(target.client, { database: 'posguard', dir: edited }))
        .rejects.toSatisfy((e) => isPosguardError(e, 'POSGUARD_ERR_CLICKHOUSE_MIGRATION_CHANGED'));
    } finally {
      rmSync(edited, { recursive: true, force: true });
    }
  });

  it('create the views analysts use, and every saved query in infra/clickhouse/queries runs against them', async () => {
    const views = await rows<{ name: string }>("SELECT name FROM system.tables WHERE database = 'posguard' AND engine = 'View' ORDER BY name");
    expect(views.map((v) => v.name)).toEqual(['alert_evidence', 'alert_states', 'alerts_current', 'disputed_transactions', 'investigation_queue', 'merchant_daily', 'terminal_daily']);
    await target.client.insert({ table: 'posguard.alerts', format: 'JSONEachRow', values: [{
      alertId: 'a-1', detector: 'skimming-cluster', detectorVersion: '1', severity: 'HIGH', score: 0.9, subjectType: 'TERMINAL', subjectId: 't-1',
      windowStart: 0, windowEnd: 1, evidenceEventIds: ['e-1', 'e-2'], reasonCodes: ['COMMON_POINT_OF_COMPROMISE'], explanation: 'x', measurements: {}, detectedAt: 5, emittedAt: 6,
    }] });
    expect(await rows('SELECT eventId FROM posguard.alert_evidence ORDER BY eventId')).toEqual([{ eventId: 'e-1' }, { eventId: 'e-2' }]);
    for (const { query, params } of savedQueriesWithExampleParameters()) {
      await expect(target.client.query({ query: query.sql, query_params: params, format: 'JSONEachRow' }), query.name).resolves.toBeDefined();
    }
  });

  it('create the same tables in another database for isolation', async () => {
    await migrate(target.client, { database: 'posguard_isolated' });
    const names = await rows<{ name: string }>("SELECT name FROM system.tables WHERE database = 'posguard_isolated'");
    expect(names.length).toBeGreaterThanOrEqual(8);
  });
});
