/**
 * A transaction whose commit happened but whose answer was lost (the broker killed mid-commit):
 * the stage must not commit the same outputs again. Shown on the in-process log, whose producer
 * here commits a batch and then throws, as kafkajs does when the connection drops before the
 * answer; the broker-restart test shows the same on a real broker, where the moment cannot be chosen.
 * The consumer then delivers the batch again, as Kafka's refetch from the last offset it knew can:
 * the same records, fewer of them (a batch wholly below what the task committed: skipped whole), or
 * more (one that overlaps it: only the records past it are taken).
 */
import { describe, expect, it } from 'vitest';
import { loadSchemaCatalog } from '../../../services/core/codec/schema-catalog.ts';
import { createInProcessSchemaRegistry } from '../../../services/core/codec/schema-registry.ts';
import { registerSerdes } from '../../../services/core/codec/serde.ts';
import { topics } from '../../../services/core/codec/topics.ts';
import { createLogger } from '../../../services/core/observability/logging.ts';
import { createMetrics } from '../../../services/core/observability/metrics.ts';
import type { CardOutcome } from '../../../services/core/records.ts';
import type { StageProcessor } from '../../../services/core/service/stage/processor.ts';
import { runStage } from '../../../services/core/service/stage-runner.ts';
import { createInProcessTransport } from '../../../services/core/transport/in-process/in-process-log.ts';
import type { ConsumedBatch, Transport } from '../../../services/core/transport/port.ts';
import type { InProcessLog } from '../../../services/core/transport/in-process/in-process-log.ts';
import { delegating, wrappingTransactions } from '../../support/transaction-faults.ts';
import { waitFor } from '../../support/wait.ts';

const input = 'outcomes.in';
const output = 'outcomes.out';

/** The in-process transport, except that the first commit of a transaction carrying records commits and then throws. */
function losingOneCommitAnswer(transport: Transport): { transport: Transport; lost: () => boolean } {
  let lost = false;
  return {
    lost: () => lost,
    transport: wrappingTransactions(transport, (transaction) => {
      let carriesRecords = false;
      return delegating(transaction, {
        async send(batches) {
          carriesRecords ||= batches.some((b) => b.records.length > 0);
          await transaction.send(batches);
        },
        async commit() {
          await transaction.commit();
          if (carriesRecords && !lost) {
            lost = true;
            throw new Error('Connection closed before the broker answered EndTxn');
          }
        },
      });
    }),
  };
}

type Redelivery = 'same' | 'shorter' | 'longer';

/**
 * The transport's consumers, except that a batch whose handler threw is delivered again as
 * `redelivery` says: the same batch; its first half first, then itself; or, in its place, the
 * records from its start to twice its length (read from the log, as a refetch would).
 */
function redelivering(transport: Transport, log: InProcessLog, redelivery: Redelivery): Transport {
  return {
    ...transport,
    async consumer(options) {
      const consumer = await transport.consumer(options);
      // Delegated one by one: the adapter's consumer is a class, whose methods a spread would not copy.
      return {
        commit: (offsets) => consumer.commit(offsets),
        assignment: () => consumer.assignment(),
        joined: () => consumer.joined(),
        readThrough: (topic, partition) => consumer.readThrough(topic, partition),
        disconnect: () => consumer.disconnect(),
        run: (handler) => {
          let failed: ConsumedBatch | undefined;
          return consumer.run(async (batch, context) => {
            if (failed !== undefined && batch.records[0]?.offset === failed.records[0]?.offset) {
              failed = undefined;
              if (redelivery === 'shorter') {
                const half = batch.records.slice(0, Math.ceil(batch.records.length / 2));
                await handler({ ...batch, records: half, nextOffset: half.at(-1)!.offset + 1 }, context);
              }
              if (redelivery === 'longer') {
                const records = log.topic(batch.topic).partitions[batch.partition]!.slice(batch.records[0]!.offset, batch.records[0]!.offset + 2 * batch.records.length);
                return handler({ ...batch, records, nextOffset: records.at(-1)!.offset + 1 }, context);
              }
            }
            try {
              await handler(batch, context);
            } catch (error) {
              failed = batch;
              throw error;
            }
          });
        },
      };
    },
  };
}

/** A stateful stage that passes each outcome on and counts what its state has taken. */
function passingOn() {
  const taken = { count: 0 };
  const processor: StageProcessor = {
    inputTopics: [input],
    stateful: true,
    task: () => {
      taken.count = 0;
      const ready: CardOutcome[] = [];
      return {
        accept: (_topic, value) => {
          taken.count++;
          ready.push(value as CardOutcome);
        },
        collect: (emit) => {
          for (const o of ready.splice(0)) emit(output, o.cardToken, o, o.reportedAt);
        },
        // What a rebuild replays was output before.
        restore: () => {
          ready.length = 0;
        },
      };
    },
  };
  return { processor, taken };
}

describe('a commit whose answer is lost', () => {
  for (const redelivery of ['same', 'shorter', 'longer'] as const) {
    it(`is not committed again when the batch comes again ${redelivery === 'same' ? 'as it was' : `${redelivery}`}: every input reaches the output once, and the state counts each once`, async () => {
      const log = createInProcessTransport();
      const serdes = await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog());
      await log.admin.createTopics([{ topic: input, partitions: 1 }, { topic: output, partitions: 1 }]);
      const serde = serdes.forTopic<CardOutcome>(topics.cardOutcomes);
      const outcomes = Array.from({ length: 500 }, (_, i) => ({
        outcomeId: `o-${i}`, cardToken: `tok_${i % 7}`, kind: 'CONFIRMED_FRAUD', fraudRelated: true, reportedAt: 1_790_000_000_000 + i, disputedEventIds: [], note: null, acquirerId: null,
      }) satisfies CardOutcome);
      const producer = await log.producer();
      await producer.send([{ topic: input, records: outcomes.map((o) => ({ key: Buffer.from(o.cardToken), value: serde.encode(o), timestamp: o.reportedAt })) }]);

      const { transport, lost } = losingOneCommitAnswer(redelivering(log, log.log, redelivery));
      const { processor, taken } = passingOn();
      const stage = await runStage({
        service: 'lost-commit-test', groupId: 'lost-commit', transactionalId: 'lost-commit', transport,
        logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }), maxBatchRecords: 100,
        serdes: { forTopic: <T>() => serdes.forTopic<T>(topics.cardOutcomes) },
      }, processor);
      await waitFor('the stage to take every outcome', async () => stage.settled()
        && (await log.admin.committedOffsets('lost-commit', input))[0]!.offset === outcomes.length, 10_000);
      await stage.stop();

      const out = log.log.topic(output).partitions.flat().map((r) => serde.decode(r.value!).outcomeId);
      expect(lost()).toBe(true);
      expect({ out: out.length, distinct: new Set(out).size, taken: taken.count }).toEqual({ out: 500, distinct: 500, taken: 500 });
    });
  }
});
