/**
 * Every saved investigation, run the way README tells an analyst (`posguard query --saved NAME
 * --param k=v`, a separate process reaching the engine through the SQL port of the process that
 * holds it), on what the embedded pipeline stored from a generated stream: each returns rows, and
 * the rows answer its question.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asClickHouseSql, clickhouseQueries } from '../dashboards/dashboards.ts';
import { connectClickHouse, type ClickHouseTarget } from '../../services/core/clickhouse/client.ts';
import { migrate } from '../../services/core/clickhouse/migrations.ts';
import { loadSavedQueries } from '../../services/core/clickhouse/saved-queries.ts';
import { announceEngineOwner, serveReadOnlySql, type SqlPort } from '../../services/core/clickhouse/shared-engine.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { buildServiceApp, type ServiceApp } from '../../services/core/http/service-app.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { waitForDrain } from '../../services/pipeline/drain.ts';
import { startPipeline } from '../../services/pipeline/pipeline.ts';
import { connectPlatform } from '../../services/pipeline/platform.ts';

const cli = fileURLToPath(new URL('../../bin/posguard.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'posguard-saved-queries-'));
const logger = createLogger({ level: 'silent', name: 'saved-queries' });
let clickhouse: ClickHouseTarget;
let app: ServiceApp;
let port: SqlPort;
let forgetOwner = () => {};

async function rows<T>(query: string): Promise<T[]> {
  return (await clickhouse.client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** `posguard query` in its own process, as an analyst runs it. */
function posguardQuery(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'query', ...args], { env: { ...process.env, POSGUARD_DATA_DIR: dataDir, LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const jsonRows = (stdout: string) => stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  clickhouse = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
  await migrate(clickhouse.client, { database: 'posguard' });
  const config = loadConfig({ POSGUARD_DATA_DIR: dataDir });
  const platform = await connectPlatform(config, logger);
  const pipeline = await startPipeline({ platform, config, logger, metrics: createMetrics({ defaultMetrics: false }), thresholds: defaultThresholds, clickhouse: clickhouse.client });
  // Two weeks: long enough for every detector family, points of compromise included, to raise alerts.
  const stream = generateStream({ ...defaultGeneratorOptions, days: 14, cards: 4000, merchants: 300 });
  await produceStream(stream.records, await platform.transport.producer(), platform.serdes);
  await waitForDrain(platform.transport, pipeline);
  await pipeline.stop();
  await platform.transport.close();
  app = buildServiceApp({ service: 'sink', logger, metrics: createMetrics({ defaultMetrics: false }) });
  port = await serveReadOnlySql(app, config);
  await app.listen({ host: '127.0.0.1', port: 0 });
  forgetOwner = announceEngineOwner(dataDir, `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/sql`, port.localKey);
}, 600_000);

afterAll(async () => {
  forgetOwner();
  await app?.close();
  await port?.close();
  await clickhouse?.client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Parameters for each saved query, taken from what the run stored. */
async function parametersFromTheRun(): Promise<Record<string, string[]>> {
  const [terminal] = await rows<{ id: string }>("SELECT subjectId AS id FROM posguard.alerts_current WHERE subjectType = 'TERMINAL' AND detector = 'skimming-cluster' ORDER BY detectedAt LIMIT 1");
  const [merchant] = await rows<{ id: string; day: string }>('SELECT merchantId AS id, toString(min(toDate(eventTime))) AS day FROM posguard.auth_events FINAL GROUP BY merchantId ORDER BY count() DESC LIMIT 1');
  const [alert] = await rows<{ id: string }>("SELECT alertId AS id FROM posguard.alerts_current WHERE detector = 'cloned-card' ORDER BY alertId LIMIT 1");
  const [card] = await rows<{ id: string }>("SELECT cardToken AS id FROM posguard.decisions FINAL WHERE decision != 'APPROVE' ORDER BY score DESC LIMIT 1");
  const [version] = await rows<{ v: string }>("SELECT any(detectorVersion) AS v FROM posguard.alerts_current WHERE detector = 'cloned-card'");
  return {
    'cards-at-terminal-before-alert': [`terminal=${terminal!.id}`],
    'merchant-transactions': [`merchant=${merchant!.id}`, `from=${merchant!.day}`, `to=${merchant!.day}`],
    'alert-evidence': [`alert=${alert!.id}`],
    'card-history': [`card=${card!.id}`],
    'terminal-history': [`terminal=${terminal!.id}`],
    'detector-version-alerts': ['detector=cloned-card', `version=${version!.v}`],
  };
}

describe('saved investigations (posguard query --saved)', () => {
  it('each returns rows on the run\'s data, with the parameters an analyst would give', async () => {
    const parameters = await parametersFromTheRun();
    for (const saved of loadSavedQueries()) {
      const given = parameters[saved.name] ?? [];
      const answer = await posguardQuery(['--saved', saved.name, ...given.flatMap((p) => ['--param', p]), '--format', 'JSONEachRow']);
      expect(answer.code, `${saved.name}: ${answer.stderr}`).toBe(0);
      expect(jsonRows(answer.stdout).length, `${saved.name} returned no rows`).toBeGreaterThan(0);
    }
  }, 300_000);

  it('cards at a terminal are those that used it in the days before its first alert, and a quoted value is a value, not SQL', async () => {
    const terminal = (await parametersFromTheRun())['cards-at-terminal-before-alert']![0]!;
    const id = terminal.slice('terminal='.length);
    const [{ alertedAt }] = await rows<{ alertedAt: string }>(`SELECT toUnixTimestamp64Milli(min(detectedAt)) AS alertedAt FROM posguard.alerts_current WHERE subjectId = '${id}'`) as [{ alertedAt: string }];
    const answer = jsonRows((await posguardQuery(['--saved', 'cards-at-terminal-before-alert', '--param', terminal, '--param', 'days=60', '--format', 'JSONEachRow'])).stdout);
    const [{ cards }] = await rows<{ cards: string }>(`SELECT uniqExact(cardToken) AS cards FROM posguard.auth_events FINAL WHERE terminalId = '${id}' AND toUnixTimestamp64Milli(eventTime) < ${alertedAt}`) as [{ cards: string }];
    expect(answer.length).toBe(Number(cards));
    for (const row of answer) expect(Date.parse(`${String(row.lastUse).replace(' ', 'T')}Z`)).toBeLessThan(Number(alertedAt));
    const injected = await posguardQuery(['--saved', 'cards-at-terminal-before-alert', '--param', `terminal=${id}' OR 1=1 --`, '--format', 'JSONEachRow']);
    expect(injected.code, injected.stderr).toBe(0);
    expect(jsonRows(injected.stdout)).toEqual([]);
  }, 120_000);

  it('a merchant\'s transaction log comes as CSV with a header; a missing parameter is named and nothing runs', async () => {
    const { 'merchant-transactions': given } = await parametersFromTheRun();
    const csv = await posguardQuery(['--saved', 'merchant-transactions', ...given!.flatMap((p) => ['--param', p]), '--format', 'CSVWithNames']);
    expect(csv.stdout.split('\n')[0]).toBe('"eventTime","eventId","acquirerId","terminalId","cardToken","bin","last4","amountMinor","currency","transactionType","entryMode","responseCode","decision","score"');
    expect(csv.stdout.trim().split('\n').length).toBeGreaterThan(2);
    const missing = await posguardQuery(['--saved', 'merchant-transactions', '--param', given![0]!]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/POSGUARD_ERR_SAVED_QUERY_PARAMETER.*from \(Date: first day \(YYYY-MM-DD\)\) is required; to \(Date: last day/);
    const unknown = await posguardQuery(['--saved', 'no-such-query']);
    expect(unknown.stderr).toMatch(/POSGUARD_ERR_SAVED_QUERY_UNKNOWN.*merchant-transactions/);
  }, 120_000);

  it('the fraud dashboard\'s ClickHouse panels each return rows on the run\'s data, over its time range', async () => {
    const [range] = await rows<{ from: string; to: string }>('SELECT toString(min(eventTime)) AS from, toString(greatest(max(eventTime), now64(3))) AS to FROM posguard.auth_events');
    expect(clickhouseQueries.length).toBeGreaterThan(0);
    for (const { where, sql } of clickhouseQueries) expect((await rows(asClickHouseSql(sql, range))).length, where).toBeGreaterThan(0);
  });
});
