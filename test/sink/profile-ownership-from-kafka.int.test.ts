/**
 * Profiles produced straight to Kafka (no HTTP ingest to refuse them) cannot move a merchant or a
 * terminal to another acquirer: the sink dead-letters them and keeps the owner's rows, the
 * enricher leaves them out of its tables, and a restarted sink learns the owners from ClickHouse.
 * On the embedded platform with the real ClickHouse engine (chDB).
 */
import { describe, expect, it } from 'vitest';
import { topics } from '../../services/core/codec/topics.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import type { AuthorisationEvent, MerchantProfile, TerminalProfile } from '../../services/core/records.ts';
import { runEnricher } from '../../services/enricher/service.ts';
import { runSink } from '../../services/sink/service.ts';
import { paris, purchase, T0, tills } from '../detectors/world.ts';
import { embeddedSinkWorld } from '../support/embedded-sink.ts';
import { waitFor } from '../support/wait.ts';

const { logger, clickhouse, platform } = embeddedSinkWorld('profile-ownership-from-kafka');

async function rows<T>(query: string): Promise<T[]> {
  return (await clickhouse().client.query({ query, format: 'JSONEachRow' })).json<T>();
}
const refusals = async () => (await rows<{ n: number }>("SELECT count() AS n FROM posguard.dead_letters FINAL WHERE errorCode = 'POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER'"))[0]!.n;

describe('profiles of another acquirer produced straight to Kafka', () => {
  it('are dead-lettered by the sink, left out by the enricher, and refused again by a restarted sink', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const common = { transport: platform().transport, serdes: platform().serdes, logger, metrics };
    const producer = await platform().transport.producer();
    const send = async (topic: string, key: string, value: unknown) =>
      producer.send([{ topic, records: [{ key: Buffer.from(key), value: platform().serdes.forTopic(topic).encode(value) }] }]);
    const sinkOptions = { ...common, clickhouse: clickhouse().client, database: 'posguard', batchRecords: 100, flushMs: 50 };
    const enricher = await runEnricher({ ...common, instanceId: 'test', eventTimeMaxAheadMs: undefined });
    let sink = await runSink(sinkOptions);
    try {
      await send(topics.merchantProfiles, paris.merchantId, paris);
      await send(topics.terminalProfiles, tills.paris.terminalId, tills.paris);
      const takeover: MerchantProfile = { ...paris, acquirerId: 'acq-2', mcc: '6011', updatedAt: T0 - 1000 };
      await send(topics.merchantProfiles, paris.merchantId, takeover);
      const unnamed: TerminalProfile = { ...tills.paris, acquirerId: null, status: 'SUSPENDED', updatedAt: T0 - 1000 };
      await send(topics.terminalProfiles, tills.paris.terminalId, unnamed);
      const sale = purchase({ at: T0 }).record as AuthorisationEvent;
      await send(topics.authorisations, sale.cardToken, sale);

      await waitFor('the purchase enriched and stored', async () => (await rows(`SELECT 1 FROM posguard.enriched_auths FINAL WHERE eventId = '${sale.eventId}'`)).length === 1, 60_000);
      await waitFor('both takeovers dead-lettered', async () => (await refusals()) === 2, 60_000);
      // The enricher joined the owner's profile, not the takeover's (registered MCC 5411, not 6011).
      expect(await rows(`SELECT merchantRegisteredMcc FROM posguard.enriched_auths FINAL WHERE eventId = '${sale.eventId}'`)).toEqual([{ merchantRegisteredMcc: '5411' }]);
      expect(await rows(`SELECT acquirerId, mcc FROM posguard.merchants FINAL WHERE merchantId = '${paris.merchantId}'`)).toEqual([{ acquirerId: 'acq-1', mcc: '5411' }]);
      expect(await rows(`SELECT acquirerId, status FROM posguard.terminals FINAL WHERE terminalId = '${tills.paris.terminalId}'`)).toEqual([{ acquirerId: 'acq-1', status: 'ACTIVE' }]);

      // A new sink knows nothing in memory: it asks the merchants table who owns the merchant.
      await sink.stop();
      sink = await runSink(sinkOptions);
      await send(topics.merchantProfiles, paris.merchantId, { ...takeover, updatedAt: T0 - 500 });
      await waitFor('the third takeover dead-lettered', async () => (await refusals()) === 3, 60_000);
      expect(await rows(`SELECT acquirerId, mcc FROM posguard.merchants FINAL WHERE merchantId = '${paris.merchantId}'`)).toEqual([{ acquirerId: 'acq-1', mcc: '5411' }]);
    } finally {
      await enricher.stop();
      await sink.stop();
      await producer.disconnect();
    }
  });
});
