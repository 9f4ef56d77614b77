/**
 * What tests on the real stack compare against: the same stream through the embedded pipeline
 * (in-process log, no sink), and a topic read back to its end.
 */
import type { Serdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import type { Logger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import type { Decision, FraudAlert } from '../../services/core/records.ts';
import type { Transport } from '../../services/core/transport/port.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import type { StreamRecord } from '../../services/generator/stream.ts';
import { waitForDrain } from '../../services/pipeline/drain.ts';
import { startPipeline } from '../../services/pipeline/pipeline.ts';
import { connectPlatform } from '../../services/pipeline/platform.ts';
import { expect } from 'vitest';
import { waitFor } from './wait.ts';

/** What an embedded run of a stream publishes: its alert ids, sorted, and its decisions by acquirer and event id. */
export interface ReferenceOutputs {
  readonly alertIds: string[];
  readonly decisions: Map<string, Decision>;
}

export const decisionKey = (d: Decision) => `${d.acquirerId}/${d.eventId}`;

/** The embedded pipeline's outputs for `records`: the reference the Kafka runs must equal. */
export async function referenceOutputs(records: readonly StreamRecord[], logger: Logger): Promise<ReferenceOutputs> {
  const config = loadConfig({});
  const platform = await connectPlatform(config, logger);
  const reference = await startPipeline({ platform, config, logger, metrics: createMetrics({ defaultMetrics: false }), thresholds: defaultThresholds });
  const producer = await platform.transport.producer();
  await produceStream(records, producer, platform.serdes);
  await waitForDrain(platform.transport, reference);
  await reference.stop();
  const log = (platform.transport as Transport & { log: { topic(name: string): { partitions: { value: Buffer | null }[][] } } }).log;
  const read = <T>(topic: string) => log.topic(topic).partitions.flat().map((r) => platform.serdes.forTopic<T>(topic).decode(r.value!));
  const alerts = read<FraudAlert>(topics.fraudAlerts);
  const decisions = read<Decision>(topics.decisions);
  await platform.transport.close();
  return { alertIds: alerts.map((a) => a.alertId).sort(), decisions: new Map(decisions.map((d) => [decisionKey(d), d])) };
}

/** The ids of the alerts an embedded run of `records` publishes, sorted. */
export async function referenceAlertIds(records: readonly StreamRecord[], logger: Logger): Promise<string[]> {
  return (await referenceOutputs(records, logger)).alertIds;
}

/** Every value of a Kafka topic, read until reading goes quiet (transaction markers take offsets too). */
export async function readTopic<T>(kafka: Transport, serdes: Serdes, topic: string): Promise<T[]> {
  const consumer = await kafka.consumer({ groupId: `test-reader-${topic}-${Date.now()}`, topics: [topic] });
  const values: T[] = [];
  const end = (await kafka.admin.endOffsets(topic)).reduce((n, p) => n + p.offset, 0);
  await consumer.run(async (batch) => {
    const serde = serdes.forTopic<T>(topic);
    await serde.prepare(batch.records.map((r) => r.value));
    for (const r of batch.records) values.push(serde.decode(r.value!));
  });
  let last = -1;
  await waitFor(`${topic} read to its end (${end} offsets)`, async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const done = values.length === last;
    last = values.length;
    return done;
  }, 60_000);
  await consumer.disconnect();
  return values;
}

/** A Kafka run's alerts are the embedded run's: more than a handful, none twice, none missing. */
export function expectTheEmbeddedAlerts(alerts: readonly FraudAlert[], embeddedAlertIds: readonly string[]): void {
  const ids = alerts.map((a) => a.alertId);
  expect(ids.length).toBeGreaterThan(5);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(embeddedAlertIds);
}

/** Every authorisation produced reached auth.enriched.v1 exactly once, and no stage took an input late. */
export function expectEachEnrichedOnce(enrichedEventIds: readonly string[], authorisations: number, lateInputs: number): void {
  expect(enrichedEventIds.length).toBe(authorisations);
  expect(new Set(enrichedEventIds).size).toBe(enrichedEventIds.length);
  expect(lateInputs).toBe(0);
}
