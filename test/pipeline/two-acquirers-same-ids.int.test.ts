/**
 * Identity is (acquirer, id) end to end: two acquirers that send the same eventId, card token and
 * outcomeId over HTTP each find their own rows in ClickHouse, and neither replaces the other's.
 * Embedded platform: HTTP ingest, the enricher and the sink over the in-process log, with the real
 * ClickHouse engine (chDB).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSchemaCatalog, schemasDir } from '../../services/core/codec/schema-catalog.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import { ProfileOwners } from '../../services/core/profile-ownership.ts';
import { runEnricher } from '../../services/enricher/service.ts';
import { buildIngestApp } from '../../services/ingest/app.ts';
import { runSink } from '../../services/sink/service.ts';
import { embeddedSinkWorld } from '../support/embedded-sink.ts';
import { waitFor } from '../support/wait.ts';

const { logger, clickhouse, platform } = embeddedSinkWorld('two-acquirers-same-ids');
const keys = { 'acq-a': 'acquirer-a-key-0123456789', 'acq-b': 'acquirer-b-key-0123456789' };
const example = (name: string) => JSON.parse(readFileSync(`${schemasDir}/examples/${name}.json`, 'utf8')) as Record<string, unknown>;

async function rows<T>(query: string): Promise<T[]> {
  return (await clickhouse().client.query({ query, format: 'JSONEachRow' })).json<T>();
}

describe('two acquirers sending the same ids', () => {
  it('each find their own authorisation, enrichment and outcome in ClickHouse', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const common = { transport: platform().transport, serdes: platform().serdes, logger, metrics };
    const ingest = buildIngestApp({
      producer: await platform().transport.producer(), serdes: platform().serdes, catalog: loadSchemaCatalog(), logger, metrics, profileOwners: new ProfileOwners(),
      apiKeys: loadConfig({ POSGUARD_API_KEYS: Object.entries(keys).map(([acquirer, key]) => `${acquirer}:${key}`).join(',') }).apiKeys,
    });
    const post = async (acquirer: keyof typeof keys, path: string, body: unknown) => {
      const response = await ingest.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', 'x-api-key': keys[acquirer] }, payload: JSON.stringify(body) });
      expect(response.statusCode, response.body).toBe(202);
    };
    const enricher = await runEnricher({ ...common, instanceId: 'test', eventTimeMaxAheadMs: undefined });
    const sink = await runSink({ ...common, clickhouse: clickhouse().client, database: 'posguard', batchRecords: 100, flushMs: 50 });
    try {
      const authorisation = example('AuthorisationEvent');
      const { acquirerId: _named, ...outcome } = example('CardOutcome');
      for (const acquirer of ['acq-a', 'acq-b'] as const) {
        // Merchants and terminals belong to who registered them: each acquirer has its own shop.
        const merchantId = `m-${acquirer}`;
        const terminalId = `t-${acquirer}`;
        await post(acquirer, '/v1/merchants', { ...example('MerchantProfile'), merchantId, acquirerId: acquirer });
        await post(acquirer, '/v1/terminals', { ...example('TerminalProfile'), terminalId, merchantId, acquirerId: acquirer });
        await post(acquirer, '/v1/authorisations', { ...authorisation, acquirerId: acquirer, merchantId, terminalId, amountMinor: acquirer === 'acq-a' ? 1111 : 2222 });
        await post(acquirer, '/v1/outcomes', { ...outcome, disputedEventIds: [authorisation.eventId], note: `reported by ${acquirer}` });
      }
      const eventId = String(authorisation.eventId);
      await waitFor('both authorisations enriched and both outcomes stored', async () =>
        (await rows(`SELECT 1 FROM posguard.enriched_auths FINAL WHERE eventId = '${eventId}'`)).length === 2
        && (await rows(`SELECT 1 FROM posguard.card_outcomes FINAL WHERE outcomeId = '${String(outcome.outcomeId)}'`)).length === 2, 60_000);
      expect(await rows(`SELECT acquirerId, amountMinor, terminalId FROM posguard.auth_events FINAL WHERE eventId = '${eventId}' ORDER BY acquirerId`)).toEqual([
        { acquirerId: 'acq-a', amountMinor: 1111, terminalId: 't-acq-a' }, { acquirerId: 'acq-b', amountMinor: 2222, terminalId: 't-acq-b' },
      ]);
      expect(await rows(`SELECT acquirerId, amountMinor, merchantRegisteredMcc IS NOT NULL AS merchantKnown FROM posguard.enriched_auths FINAL WHERE eventId = '${eventId}' ORDER BY acquirerId`)).toEqual([
        { acquirerId: 'acq-a', amountMinor: 1111, merchantKnown: 1 }, { acquirerId: 'acq-b', amountMinor: 2222, merchantKnown: 1 },
      ]);
      expect(await rows(`SELECT acquirerId, note FROM posguard.card_outcomes FINAL WHERE outcomeId = '${String(outcome.outcomeId)}' ORDER BY acquirerId`)).toEqual([
        { acquirerId: 'acq-a', note: 'reported by acq-a' }, { acquirerId: 'acq-b', note: 'reported by acq-b' },
      ]);
    } finally {
      await ingest.close();
      await enricher.stop();
      await sink.stop();
    }
  });
});
