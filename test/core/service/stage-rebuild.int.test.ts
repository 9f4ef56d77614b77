/**
 * The rebuild of a stateful stage on a real broker, where retention has deleted input below the
 * committed offsets, and a stop that comes in the middle of a rebuild.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadSchemaCatalog } from '../../../services/core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry } from '../../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../../services/core/codec/serde.ts';
import { topics } from '../../../services/core/codec/topics.ts';
import { createLogger } from '../../../services/core/observability/logging.ts';
import { createMetrics } from '../../../services/core/observability/metrics.ts';
import type { CardOutcome } from '../../../services/core/records.ts';
import type { StageProcessor } from '../../../services/core/service/stage/processor.ts';
import { runStage } from '../../../services/core/service/stage-runner.ts';
import { createKafkaTransport } from '../../../services/core/transport/kafka/kafka-transport.ts';
import type { Transport } from '../../../services/core/transport/port.ts';
import { waitFor } from '../../support/wait.ts';

const { kafkaBrokers, schemaRegistryUrl } = inject('endpoints');
const logger = createLogger({ level: 'silent' });
const input = `rebuild-${randomUUID()}`;
let transport: Transport;
let serdes: Serdes;
const kafka = new Kafka({ brokers: kafkaBrokers.split(','), clientId: 'rebuild-test', logLevel: logLevel.NOTHING });

/** A stateful stage that counts the outcomes it has taken; it outputs nothing. */
function countingStage() {
  const taken = { count: 0 };
  // One partition, one task: a rebuild starts it afresh.
  const processor: StageProcessor = {
    inputTopics: [input],
    stateful: true,
    task: () => {
      taken.count = 0;
      return { accept: () => { taken.count++; }, collect: () => {} };
    },
  };
  return { processor, taken };
}

async function start(processor: StageProcessor, groupId: string) {
  return runStage({
    service: 'rebuild-test', groupId, transactionalId: `${groupId}-${randomUUID()}`, transport, logger,
    // The real CardOutcome serde, bound to this test's own topic.
    serdes: { forTopic: <T>() => serdes.forTopic<T>(topics.cardOutcomes) }, metrics: createMetrics({ defaultMetrics: false }),
  }, processor);
}

async function produceOutcomes(n: number): Promise<void> {
  const serde = serdes.forTopic<CardOutcome>(topics.cardOutcomes);
  const producer = await transport.producer();
  for (let sent = 0; sent < n; sent += 5000) {
    const records = Array.from({ length: Math.min(5000, n - sent) }, (_, i) => ({
      key: Buffer.from('tok_rebuild'),
      value: serde.encode({ outcomeId: `o-${sent + i}`, cardToken: 'tok_rebuild', kind: 'CONFIRMED_FRAUD', fraudRelated: true, reportedAt: 1_790_000_000_000 + sent + i, disputedEventIds: [], note: null, acquirerId: null }),
      timestamp: 1_790_000_000_000 + sent + i,
    }));
    await producer.send([{ topic: input, records }]);
  }
  await producer.disconnect();
}

async function committed(groupId: string): Promise<number> {
  return (await transport.admin.committedOffsets(groupId, input))[0]!.offset;
}

beforeAll(async () => {
  transport = createKafkaTransport({ brokers: kafkaBrokers.split(','), clientId: 'rebuild-test', logger });
  serdes = await registerSerdes(createConfluentSchemaRegistry(schemaRegistryUrl), loadSchemaCatalog());
  await transport.admin.createTopics([{ topic: input, partitions: 1 }]);
});

afterAll(async () => {
  await transport.admin.deleteTopics([input]).catch(() => undefined);
  await transport.close();
});

describe('the rebuild of a stateful stage', () => {
  it('finishes when retention has emptied the partition up to the committed offset', async () => {
    const groupId = `rebuild-emptied-${randomUUID()}`;
    await produceOutcomes(300);
    const first = countingStage();
    let stage = await start(first.processor, groupId);
    await waitFor('the stage to take all 300 outcomes', () => first.taken.count === 300 && stage.settled(), 60_000);
    await stage.stop();
    expect(await committed(groupId)).toBe(300);

    // What retention does, at once: the partition now starts where the group's offset stands.
    const admin = kafka.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [input] });
    await admin.deleteTopicRecords({ topic: input, partitions: [{ partition: 0, offset: '300' }] });
    await admin.disconnect();
    expect((await transport.admin.startOffsets(input))[0]!.offset).toBe(300);

    const second = countingStage();
    stage = await start(second.processor, groupId);
    await produceOutcomes(1);
    await waitFor('the restarted stage to rebuild and take the new outcome', () => stage.ready() && second.taken.count === 1, 60_000);
    await stage.stop();
    expect(await committed(groupId)).toBe(301);
  }, 120_000);

  it('is abandoned by a stop: stop() returns promptly, without finishing the replay', async () => {
    const groupId = `rebuild-stopped-${randomUUID()}`;
    await produceOutcomes(200_000);
    const first = countingStage();
    let stage = await start(first.processor, groupId);
    const end = (await transport.admin.endOffsets(input))[0]!.offset;
    await waitFor('the stage to take everything', async () => stage.settled() && (await committed(groupId)) === end, 300_000);
    await stage.stop();

    const second = countingStage();
    stage = await start(second.processor, groupId);
    await produceOutcomes(1);
    await waitFor('the rebuild to be under way', () => second.taken.count > 0, 60_000);
    const stopping = Date.now();
    await stage.stop();
    const tookMs = Date.now() - stopping;
    expect({ replayedEverything: second.taken.count >= end - 300, stoppedWithinBound: tookMs < 10_000 }).toEqual({ replayedEverything: false, stoppedWithinBound: true });
    // Nothing new was committed by the abandoned rebuild.
    expect(await committed(groupId)).toBe(end);
  }, 400_000);
});
