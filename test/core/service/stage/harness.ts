/** A stage context over the in-process log with the card-outcome serde on every topic, for the runner's module tests. */
import { loadSchemaCatalog } from '../../../../services/core/codec/schema-catalog.ts';
import { createInProcessSchemaRegistry } from '../../../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../../../services/core/codec/serde.ts';
import { topics } from '../../../../services/core/codec/topics.ts';
import { createLogger } from '../../../../services/core/observability/logging.ts';
import { createMetrics, type Metrics } from '../../../../services/core/observability/metrics.ts';
import type { CardOutcome } from '../../../../services/core/records.ts';
import type { StageContext } from '../../../../services/core/service/stage/context.ts';
import type { StageProcessor } from '../../../../services/core/service/stage/processor.ts';
import { createInProcessTransport } from '../../../../services/core/transport/in-process/in-process-log.ts';
import type { Transport } from '../../../../services/core/transport/port.ts';

export const input = 'outcomes.in';
export const output = 'outcomes.out';

export const outcome = (i: number): CardOutcome => ({
  outcomeId: `o-${i}`, cardToken: `tok_${i % 7}`, kind: 'CONFIRMED_FRAUD', fraudRelated: true, reportedAt: 1_790_000_000_000 + i, disputedEventIds: [], note: null, acquirerId: null,
});

export interface Harness {
  readonly log: ReturnType<typeof createInProcessTransport>;
  readonly serdes: Serdes;
  readonly metrics: Metrics;
  context(stage: StageProcessor, transport?: Transport): Promise<StageContext>;
  /** Writes outcomes 0..n-1 to partition 0 of the input topic. */
  send(n: number): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const log = createInProcessTransport();
  const catalogSerdes = await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog());
  // Every topic here carries card outcomes; dead letters keep their own schema.
  const serdes: Serdes = { forTopic: <T>(topic: string) => catalogSerdes.forTopic<T>(topic === topics.deadLetters ? topic : topics.cardOutcomes) };
  await log.admin.createTopics([{ topic: input, partitions: 2 }, { topic: output, partitions: 1 }, { topic: topics.deadLetters, partitions: 1 }]);
  const metrics = createMetrics({ defaultMetrics: false });
  return {
    log, serdes, metrics,
    async context(stage, transport = log) {
      const consumer = await transport.consumer({ groupId: 'module-test', topics: stage.inputTopics });
      return {
        deps: { service: 'module-test', groupId: 'module-test', transactionalId: 'module-test', transport, serdes, logger: createLogger({ level: 'silent' }), metrics },
        stage, consumer, stopping: new AbortController().signal,
      };
    },
    async send(n) {
      const producer = await log.producer();
      const serde = serdes.forTopic<CardOutcome>(input);
      await producer.send([{ topic: input, records: Array.from({ length: n }, (_, i) => ({ key: Buffer.from(outcome(i).cardToken), value: serde.encode(outcome(i)), timestamp: outcome(i).reportedAt, partition: 0 })) }]);
    },
  };
}

/** A stateful stage passing each outcome on; `built` counts the task processors made. */
export function passingOn() {
  const counts = { built: 0, taken: 0 };
  const processor: StageProcessor = {
    inputTopics: [input],
    stateful: true,
    task: () => {
      counts.built++;
      const ready: CardOutcome[] = [];
      return {
        accept: (_topic, value) => { counts.taken++; ready.push(value as CardOutcome); },
        collect: (emit) => { for (const o of ready.splice(0)) emit(output, o.cardToken, o, o.reportedAt); },
        checkpoint: () => JSON.stringify({ time: counts.taken, id: 'x' }),
        restore: () => { ready.length = 0; },
      };
    },
  };
  return { processor, counts };
}
