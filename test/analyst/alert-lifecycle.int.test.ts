/**
 * The alert lifecycle on the real engine: alerts raised by the embedded pipeline and stored by its
 * sink, acted on over HTTP with acquirers' keys; the actions and the card outcomes they produce go
 * through the log, back into ClickHouse and into the card stage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveAnalyst } from '../../services/analyst/routes.ts';
import { connectClickHouse, type ClickHouseTarget } from '../../services/core/clickhouse/client.ts';
import { migrate } from '../../services/core/clickhouse/migrations.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { buildServiceApp, type ServiceApp } from '../../services/core/http/service-app.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import type { CardOutcome } from '../../services/core/records.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { waitForDrain } from '../../services/pipeline/drain.ts';
import { startPipeline, type RunningPipeline } from '../../services/pipeline/pipeline.ts';
import { connectPlatform, type Platform } from '../../services/pipeline/platform.ts';
import { groupOf } from '../../services/topology/topology.ts';
import { waitFor } from '../support/wait.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'posguard-alert-lifecycle-'));
const logger = createLogger({ level: 'silent', name: 'alert-lifecycle' });
const keys = { 'acq-eu-01': 'key-of-acquirer-eu-01-0123', 'acq-eu-02': 'key-of-acquirer-eu-02-0123', 'acq-eu-03': 'key-of-acquirer-eu-03-0123' };
const config = loadConfig({ POSGUARD_DATA_DIR: dataDir, POSGUARD_API_KEYS: Object.entries(keys).map(([a, k]) => `${a}:${k}`).join(',') });
let clickhouse: ClickHouseTarget;
let platform: Platform;
let pipeline: RunningPipeline;
let app: ServiceApp;

const rows = async <T>(query: string) => (await clickhouse.client.query({ query, format: 'JSONEachRow' })).json<T>();
const call = (method: 'GET' | 'POST', url: string, acquirer: keyof typeof keys, payload?: object) =>
  app.inject({ method, url, headers: { 'x-api-key': keys[acquirer], ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload }) });

beforeAll(async () => {
  clickhouse = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
  await migrate(clickhouse.client, { database: 'posguard' });
  platform = await connectPlatform(config, logger);
  pipeline = await startPipeline({ platform, config, logger, metrics: createMetrics({ defaultMetrics: false }), thresholds: defaultThresholds, clickhouse: clickhouse.client });
  const stream = generateStream({ ...defaultGeneratorOptions, seed: 41, days: 10, cards: 3000, merchants: 200 });
  await produceStream(stream.records, await platform.transport.producer(), platform.serdes);
  await waitForDrain(platform.transport, pipeline);
  const producer = await platform.transport.producer();
  app = buildServiceApp({ service: 'sink', logger, metrics: createMetrics({ defaultMetrics: false }) });
  serveAnalyst(app, { clickhouse: clickhouse.client, database: 'posguard', apiKeys: config.apiKeys, connection: () => ({ producer, serdes: platform.serdes }) });
  await app.ready();
}, 600_000);

afterAll(async () => {
  await app?.close();
  await pipeline?.stop();
  await platform?.transport.close();
  await clickhouse?.client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the alert lifecycle over HTTP', () => {
  it('acknowledged, then confirmed: both actions stored, the alert closed with its history, and the card outcome reaches ClickHouse and the card stage', async () => {
    const [alert] = await rows<{ alertId: string; acquirerId: 'acq-eu-01'; subjectId: string; evidenceEventIds: string[] }>(
      "SELECT alertId, acquirerId, subjectId, evidenceEventIds FROM posguard.alerts FINAL WHERE subjectType = 'CARD' AND acquirerId IS NOT NULL ORDER BY alertId LIMIT 1");
    const url = `/v1/alerts/${encodeURIComponent(alert!.alertId)}`;
    const other = (Object.keys(keys) as (keyof typeof keys)[]).find((a) => a !== alert!.acquirerId)!;
    expect((await call('GET', url, alert!.acquirerId)).json()).toMatchObject({ state: 'OPEN', history: [] });
    expect((await call('GET', url, other)).json()).toMatchObject({ error: 'POSGUARD_ERR_ALERT_NOT_FOUND' });
    expect((await call('POST', `${url}/actions`, other, { actionId: 'act-x', action: 'ACKNOWLEDGED', actor: 'intruder' })).statusCode).toBe(404);

    expect((await call('POST', `${url}/actions`, alert!.acquirerId, { actionId: 'act-1', action: 'ACKNOWLEDGED', actor: 'j.martin' })).statusCode).toBe(201);
    const confirmed = await call('POST', `${url}/actions`, alert!.acquirerId, { actionId: 'act-2', action: 'CONFIRMED_FRAUD', actor: 'j.martin', reason: 'cardholder denies them' });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const outcome = confirmed.json<{ outcome: CardOutcome }>().outcome;
    expect(outcome).toMatchObject({ cardToken: alert!.subjectId, kind: 'CONFIRMED_FRAUD', disputedEventIds: alert!.evidenceEventIds, acquirerId: alert!.acquirerId });

    await waitForDrain(platform.transport, pipeline);
    const stored = await waitFor('the actions and the outcome in ClickHouse', async () => {
      const [state] = await rows<{ state: string; history: [string, string, string, string, string][] }>(
        `SELECT state, history FROM posguard.alert_states WHERE alertId = '${alert!.alertId}'`);
      const [outcomes] = await rows<{ n: string }>(`SELECT count() AS n FROM posguard.card_outcomes FINAL WHERE outcomeId = '${outcome.outcomeId}'`);
      return state?.state === 'CONFIRMED_FRAUD' && Number(outcomes!.n) === 1 ? state : undefined;
    }, 60_000);
    expect(stored.history.map((h) => [h[0], h[1], h[3]])).toEqual([['ACKNOWLEDGED', 'j.martin', ''], ['CONFIRMED_FRAUD', 'j.martin', 'cardholder denies them']]);
    // The card stage read the outcome: its group committed card.outcomes.v1 to the end.
    const end = (await platform.transport.admin.endOffsets(topics.cardOutcomes)).reduce((n, p) => n + p.offset, 0);
    const committed = (await platform.transport.admin.committedOffsets(groupOf('card'), topics.cardOutcomes)).reduce((n, p) => n + Math.max(0, p.offset), 0);
    expect(committed).toBe(end);

    // Sent again: one action; another action on the closed alert: refused.
    expect((await call('POST', `${url}/actions`, alert!.acquirerId, { actionId: 'act-2', action: 'CONFIRMED_FRAUD', actor: 'j.martin', reason: 'cardholder denies them' })).json())
      .toMatchObject({ duplicate: true });
    expect((await call('POST', `${url}/actions`, alert!.acquirerId, { actionId: 'act-3', action: 'DISMISSED', actor: 'k.lee', reason: 'x' })).json())
      .toMatchObject({ error: 'POSGUARD_ERR_ALERT_CLOSED' });
    expect((await call('GET', url, alert!.acquirerId)).json()).toMatchObject({ state: 'CONFIRMED_FRAUD', history: [{ actionId: 'act-1' }, { actionId: 'act-2' }] });
  }, 180_000);

  it('a terminal alert belongs to the acquirer of its terminal\'s merchant; without a key, nothing', async () => {
    const [alert] = await rows<{ alertId: string; owner: 'acq-eu-01' }>(
      `SELECT a.alertId AS alertId, m.acquirerId AS owner FROM (SELECT * FROM posguard.alerts FINAL WHERE subjectType = 'TERMINAL') AS a
       JOIN (SELECT terminalId, merchantId FROM posguard.terminals FINAL) AS t ON t.terminalId = a.subjectId
       JOIN (SELECT merchantId, acquirerId FROM posguard.merchants FINAL) AS m ON m.merchantId = t.merchantId ORDER BY alertId LIMIT 1`);
    const url = `/v1/alerts/${encodeURIComponent(alert!.alertId)}/actions`;
    const assigned = await call('POST', url, alert!.owner, { actionId: 'act-t1', action: 'ASSIGNED', actor: 'j.martin', assignee: 'k.lee' });
    expect(assigned.statusCode, assigned.body).toBe(201);
    expect(assigned.json()).toMatchObject({ outcome: null, action: { action: 'ASSIGNED', assignee: 'k.lee' } });
    const anonymous = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: { actionId: 'act-t2', action: 'ACKNOWLEDGED', actor: 'x' } });
    expect(anonymous.statusCode).toBe(401);
  }, 60_000);
});
