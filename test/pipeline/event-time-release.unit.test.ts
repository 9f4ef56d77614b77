/**
 * When the detector stages release their inputs, on the embedded platform: a stream's last inputs
 * come out once the stream has gone quiet (its partitions idle), and a silent partition holds event
 * time back while a stage upstream of it still has input to consume.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import type { FraudAlert } from '../../services/core/records.ts';
import type { RunningStage } from '../../services/core/service/stage-runner.ts';
import type { InProcessLog } from '../../services/core/transport/in-process/in-process-log.ts';
import { keyPartitioner } from '../../services/core/transport/key-partition.ts';
import { runDetectors } from '../../services/detectors/service.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { runEnricher } from '../../services/enricher/service.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import type { StreamRecord } from '../../services/generator/stream.ts';
import { totalLag, waitForDrain } from '../../services/pipeline/drain.ts';
import { startPipeline } from '../../services/pipeline/pipeline.ts';
import { connectPlatform, type Platform } from '../../services/pipeline/platform.ts';
import type { SpecRecord } from '../detectors/specification.ts';
import { DAY, MIN, T0, purchase, registry, tills } from '../detectors/world.ts';
import { waitFor } from '../support/wait.ts';
import { groupOf } from '../../services/topology/topology.ts';

const partitionIdleMs = 100;
const logger = createLogger({ level: 'silent', name: 'event-time-release' });
const config = loadConfig({ POSGUARD_PARTITION_IDLE_MS: String(partitionIdleMs) });

/**
 * A card other than `card` in the same partition of the stage's input. Event time is kept per task
 * (partition p of the inputs), as in Kafka Streams: a clock in another partition would not move it.
 */
function clockCardBeside(card: string): string {
  const partitionOf = keyPartitioner(config.partitions);
  for (let i = 0; ; i++) if (partitionOf(`tok-clock-${i}`) === partitionOf(card)) return `tok-clock-${i}`;
}

/**
 * Twelve ordinary purchases, then four within an hour each 65 times larger: a card-behaviour burst
 * completed by the stream's last purchase but one.
 */
function unusualLastPurchase(): { records: StreamRecord[]; unusual: string[] } {
  const history = Array.from({ length: 12 }, (_, i) => purchase({ card: 'tok-quiet', at: T0 + i * DAY, amountMinor: 3000 + i * 10 }));
  const burst = Array.from({ length: 4 }, (_, i) => purchase({ card: 'tok-quiet', at: T0 + 13 * DAY + i * 15 * MIN, amountMinor: 200_000 }));
  const last = burst[burst.length - 1]!.record.eventTime;
  // Event time must pass the allowed lateness beyond the last unusual purchase before it can be released.
  const clock = purchase({ card: clockCardBeside('tok-quiet'), at: last + defaultThresholds.allowedLatenessMinutes * MIN + MIN, terminal: tills.berlin });
  const spec: SpecRecord[] = [...registry(), ...history, ...burst, clock];
  return { records: spec.map((r) => ({ type: r.kind, record: r.record }) as StreamRecord), unusual: burst.map((b) => b.record.eventId) };
}

function alertsIn(platform: Platform): FraudAlert[] {
  const log = (platform.transport as Platform['transport'] & { log: InProcessLog }).log;
  const serde = platform.serdes.forTopic<FraudAlert>(topics.fraudAlerts);
  return log.topic(topics.fraudAlerts).partitions.flat().map((r) => serde.decode(r.value!));
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('event-time release in the detector stages', () => {
  it('releases a stream\'s last inputs once the stream has gone quiet, without waiting for more data', async () => {
    const platform = await connectPlatform(config, logger);
    cleanups.push(() => platform.transport.close());
    const pipeline = await startPipeline({ platform, config, logger, metrics: createMetrics({ defaultMetrics: false }), thresholds: defaultThresholds });
    cleanups.push(() => pipeline.stop());
    const { records, unusual } = unusualLastPurchase();
    await produceStream(records, await platform.transport.producer(), platform.serdes);

    await waitForDrain(platform.transport, pipeline, { timeoutMs: 30_000 });

    const alerts = alertsIn(platform);
    expect(alerts.map((a) => [a.detector, a.subjectId, a.evidenceEventIds])).toEqual([['card-behaviour', 'tok-quiet', unusual]]);
  });

  it('holds a silent partition back while a stage upstream of it still has input to consume', async () => {
    const platform = await connectPlatform(config, logger);
    cleanups.push(() => platform.transport.close());
    let upstreamCaughtUp = false;
    const common = { transport: platform.transport, serdes: platform.serdes, logger, metrics: createMetrics({ defaultMetrics: false }), instanceId: 'test' };
    const stages: RunningStage[] = [
      await runEnricher({ ...common, eventTimeMaxAheadMs: undefined }),
      ...await runDetectors({ ...common, service: 'detectors', thresholds: defaultThresholds, decisionPolicies: {}, partitions: config.partitions, partitionIdleMs, upstreamCaughtUp: async () => upstreamCaughtUp }, ['card']),
    ];
    cleanups.push(async () => {
      for (const stage of stages) await stage.stop();
    });
    const { records, unusual } = unusualLastPurchase();
    await produceStream(records, await platform.transport.producer(), platform.serdes);

    // Everything consumed, and far longer than the idle time: still nothing released past the silence.
    await waitFor('the card stage to consume its input', async () => (await totalLag(platform.transport, [groupOf('enricher'), groupOf('card')])) === 0);
    await new Promise((resolve) => setTimeout(resolve, 20 * partitionIdleMs));
    expect(alertsIn(platform)).toEqual([]);
    expect(stages[1]!.settled()).toBe(false);

    upstreamCaughtUp = true;
    await waitFor('the card stage to settle', () => stages[1]!.settled(), 10_000);
    expect(alertsIn(platform).map((a) => a.evidenceEventIds)).toEqual([unusual]);
  });
});
