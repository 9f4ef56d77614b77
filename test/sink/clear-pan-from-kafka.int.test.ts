/**
 * A clear card number in a record produced straight to Kafka (no HTTP ingest to refuse it) never
 * reaches the tables: the enricher and the sink dead-letter the record, masked. On the embedded
 * platform with the real ClickHouse engine (chDB).
 */
import { describe, expect, it } from 'vitest';
import { topics } from '../../services/core/codec/topics.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import type { AuthorisationEvent, DeadLetter } from '../../services/core/records.ts';
import type { InProcessLog } from '../../services/core/transport/in-process/in-process-log.ts';
import { runEnricher } from '../../services/enricher/service.ts';
import { runSink } from '../../services/sink/service.ts';
import { purchase } from '../detectors/world.ts';
import { embeddedSinkWorld } from '../support/embedded-sink.ts';
import { waitFor } from '../support/wait.ts';

const { logger, clickhouse, platform } = embeddedSinkWorld('clear-pan-from-kafka');
const pan = '4111111111111111';

async function count(query: string): Promise<number> {
  return Number((await (await clickhouse().client.query({ query, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
}

describe('a clear card number produced straight to Kafka', () => {
  it('is dead-lettered masked by the enricher and the sink, and stored nowhere', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const common = { transport: platform().transport, serdes: platform().serdes, logger, metrics };
    const enricher = await runEnricher({ ...common, instanceId: 'test', eventTimeMaxAheadMs: undefined });
    const sink = await runSink({ ...common, clickhouse: clickhouse().client, database: 'posguard', batchRecords: 100, flushMs: 50 });
    try {
      const clean = purchase({ card: 'tok-clean' }).record as AuthorisationEvent;
      const leaked: AuthorisationEvent = { ...clean, eventId: 'e-leaked', cardToken: pan, merchantId: `m-${pan}` };
      const serde = platform().serdes.forTopic<AuthorisationEvent>(topics.authorisations);
      const producer = await platform().transport.producer();
      await producer.send([{ topic: topics.authorisations, records: [clean, leaked].map((a) => ({ key: Buffer.from(a.cardToken), value: serde.encode(a) })) }]);

      await waitFor('the clean authorisation stored, enriched', async () => (await count("SELECT count() AS n FROM posguard.enriched_auths FINAL WHERE eventId = '" + clean.eventId + "'")) === 1, 60_000);
      await waitFor('both dead letters stored', async () => (await count("SELECT count() AS n FROM posguard.dead_letters FINAL WHERE errorCode = 'POSGUARD_ERR_RECORD_CLEAR_PAN'")) === 2, 60_000);
      for (const table of ['auth_events', 'enriched_auths', 'dead_letters']) {
        expect(await count(`SELECT count() AS n FROM posguard.${table} FINAL WHERE position(toString(tuple(*)), '${pan}') > 0`), table).toBe(0);
      }
      const log = (platform().transport as ReturnType<typeof platform>['transport'] & { log: InProcessLog }).log;
      // Their Kafka keys too: the card number was the record's key.
      expect(log.topic(topics.deadLetters).partitions.flat().filter((r) => r.key?.toString().includes(pan))).toEqual([]);
      const letters = log.topic(topics.deadLetters).partitions.flat()
        .map((r) => platform().serdes.forTopic<DeadLetter>(topics.deadLetters).decode(r.value!));
      expect(letters.map((l) => l.service).sort()).toEqual(['enricher', 'sink']);
      for (const letter of letters) {
        expect(letter.originalValue.toString()).not.toContain(pan);
        expect(letter.originalValue.toString()).toContain('411111******1111');
      }
    } finally {
      await enricher.stop();
      await sink.stop();
    }
  });

  it('in the key of a record refused for another reason, and in a dead letter another producer wrote, is stored masked; the sink refuses what the enricher refuses', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const common = { transport: platform().transport, serdes: platform().serdes, logger, metrics };
    const sink = await runSink({ ...common, clickhouse: clickhouse().client, database: 'posguard', batchRecords: 100, flushMs: 50 });
    try {
      const negative: AuthorisationEvent = { ...(purchase({ card: 'tok-negative' }).record as AuthorisationEvent), eventId: 'e-negative', amountMinor: -5 };
      const producer = await platform().transport.producer();
      await producer.send([{ topic: topics.authorisations, records: [{ key: Buffer.from(`card ${pan}`), value: platform().serdes.forTopic(topics.authorisations).encode(negative) }] }]);
      const foreign: DeadLetter = {
        service: 'another-producer', sourceTopic: null, sourcePartition: null, sourceOffset: null, originalKey: Buffer.from(pan),
        originalValue: Buffer.from(`{"pan":"${pan}"}`), errorCode: 'POSGUARD_ERR_PROCESSING_FAILED', errorMessage: `refused ${pan}`,
        fieldErrors: [{ path: 'pan', message: `got ${pan}` }], failedAt: 1, letterId: 'foreign-1',
      };
      await producer.send([{ topic: topics.deadLetters, records: [{ key: Buffer.from('foreign-1'), value: platform().serdes.forTopic(topics.deadLetters).encode(foreign) }] }]);

      await waitFor('the negative amount dead-lettered by the sink', async () => (await count("SELECT count() AS n FROM posguard.dead_letters FINAL WHERE service = 'sink' AND errorCode = 'POSGUARD_ERR_RECORD_INVALID_VALUE'")) === 1, 60_000);
      await waitFor('the foreign dead letter stored', async () => (await count("SELECT count() AS n FROM posguard.dead_letters FINAL WHERE letterId = 'foreign-1'")) === 1, 60_000);
      expect(await count("SELECT count() AS n FROM posguard.auth_events FINAL WHERE eventId = 'e-negative'")).toBe(0);
      expect(await count(`SELECT count() AS n FROM posguard.dead_letters FINAL WHERE position(toString(tuple(*)), '${pan}') > 0`)).toBe(0);
      const log = (platform().transport as ReturnType<typeof platform>['transport'] & { log: InProcessLog }).log;
      const sinkLetters = log.topic(topics.deadLetters).partitions.flat().filter((r) => r.key?.toString().startsWith('card '));
      expect(sinkLetters.map((r) => r.key!.toString())).toEqual(['card 411111******1111']);
    } finally {
      await sink.stop();
    }
  });
});
