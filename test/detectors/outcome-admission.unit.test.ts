/**
 * Outcomes produced straight to Kafka meet the rules HTTP ingest applies: the card stage refuses
 * one with a clear card number or a meaningless value, dead-letters it (masked) and goes on.
 * Embedded platform: the in-process log, the real stage runner.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import type { CardOutcome, DeadLetter } from '../../services/core/records.ts';
import type { InProcessLog } from '../../services/core/transport/in-process/in-process-log.ts';
import { runDetectors } from '../../services/detectors/service.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { connectPlatform, type Platform } from '../../services/pipeline/platform.ts';
import { waitFor } from '../support/wait.ts';
import { T0, outcome } from './world.ts';

const logger = createLogger({ level: 'silent', name: 'outcome-admission' });
const config = loadConfig({ POSGUARD_PARTITION_IDLE_MS: '100' });
let platform: Platform;

afterAll(async () => {
  await platform?.transport.close();
});

describe('outcomes produced straight to Kafka', () => {
  it('are dead-lettered by the card stage when they hold a clear card number or a meaningless value; a good one is not', async () => {
    platform = await connectPlatform(config, logger);
    const stages = await runDetectors({
      transport: platform.transport, serdes: platform.serdes, logger, metrics: createMetrics({ defaultMetrics: false }),
      service: 'detectors', thresholds: defaultThresholds, decisionPolicies: {}, partitions: config.partitions, partitionIdleMs: 100, upstreamCaughtUp: async () => true,
    }, ['card']);
    try {
      const good = outcome({ card: 'tok-a', at: T0 }).record as CardOutcome;
      const withPan: CardOutcome = { ...good, outcomeId: 'o-pan', note: 'card 4111 1111 1111 1111 was stolen' };
      const beforeEpoch: CardOutcome = { ...good, outcomeId: 'o-1969', reportedAt: -5 };
      const serde = platform.serdes.forTopic<CardOutcome>(topics.cardOutcomes);
      const producer = await platform.transport.producer();
      await producer.send([{ topic: topics.cardOutcomes, records: [good, withPan, beforeEpoch].map((o) => ({ key: Buffer.from(o.cardToken), value: serde.encode(o) })) }]);
      const log = (platform.transport as Platform['transport'] & { log: InProcessLog }).log;
      const letters = () => log.topic(topics.deadLetters).partitions.flat().map((r) => platform.serdes.forTopic<DeadLetter>(topics.deadLetters).decode(r.value!));
      await waitFor('two dead letters', async () => letters().length === 2, 20_000);
      const byCode = Object.fromEntries(letters().map((l) => [l.errorCode, l]));
      expect(Object.keys(byCode).sort()).toEqual(['POSGUARD_ERR_RECORD_CLEAR_PAN', 'POSGUARD_ERR_RECORD_INVALID_VALUE']);
      expect(byCode.POSGUARD_ERR_RECORD_CLEAR_PAN!.originalValue.toString()).toContain('411111******1111');
      expect(byCode.POSGUARD_ERR_RECORD_INVALID_VALUE!.fieldErrors.map((e) => e.path)).toEqual(['reportedAt']);
      expect(letters().every((l) => l.service === 'detectors')).toBe(true);
    } finally {
      for (const stage of stages) await stage.stop();
    }
  });
});
