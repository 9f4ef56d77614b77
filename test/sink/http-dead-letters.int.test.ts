/**
 * Every record HTTP ingest rejects is one row of `dead_letters`, however many one request holds:
 * HTTP rejections have no source offset, and were once keyed by their failure millisecond alone
 * (19,000 rejections of one request became 775 rows). On the embedded platform with the real
 * ClickHouse engine (chDB).
 */
import { describe, expect, it } from 'vitest';
import { loadSchemaCatalog } from '../../services/core/codec/schema-catalog.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import { buildIngestApp } from '../../services/ingest/app.ts';
import { ProfileOwners } from '../../services/core/profile-ownership.ts';
import { runSink } from '../../services/sink/service.ts';
import { embeddedSinkWorld } from '../support/embedded-sink.ts';
import { waitFor } from '../support/wait.ts';

const { logger, clickhouse, platform } = embeddedSinkWorld('http-dead-letters');
const key = 'http-letters-key-0123456789';
const rejected = 3000;

describe('dead letters of HTTP ingest in ClickHouse', () => {
  it('keeps each rejected record of one request as a row of its own', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const app = buildIngestApp({ profileOwners: new ProfileOwners(),
      producer: await platform().transport.producer(), serdes: platform().serdes, catalog: loadSchemaCatalog(), apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:${key}` }).apiKeys,
      logger, metrics, ratePerAcquirer: 10_000,
    });
    const sink = await runSink({ transport: platform().transport, serdes: platform().serdes, clickhouse: clickhouse().client, database: 'posguard', logger, metrics, batchRecords: 1000, flushMs: 50 });
    try {
      // A batch of nonsense: numbers where authorisations belong, all rejected within the same few milliseconds.
      const response = await app.inject({
        method: 'POST', url: '/v1/authorisations', headers: { 'content-type': 'application/json', 'x-api-key': key },
        payload: JSON.stringify(Array.from({ length: rejected }, (_, i) => i)),
      });
      expect(response.json()).toMatchObject({ accepted: 0, rejected });
      // Keyed by their letter ids: spread over the partitions, not all on one.
      const perPartition = (await platform().transport.admin.endOffsets(topics.deadLetters)).map((p) => p.offset);
      expect(perPartition.reduce((a, b) => a + b, 0)).toBe(rejected);
      expect(perPartition.every((n) => n > 0)).toBe(true);
      const stored = async () => Number((await (await clickhouse().client.query({
        query: "SELECT count() AS n FROM posguard.dead_letters FINAL WHERE service = 'ingest'", format: 'JSONEachRow',
      })).json<{ n: string }>())[0]!.n);
      await waitFor('every rejection stored', async () => (await stored()) >= rejected, 60_000);
      expect(await stored()).toBe(rejected);
    } finally {
      await sink.stop();
      await app.close();
    }
  });
});
