import { describe, expect, it } from 'vitest';
import type { CardOutcome } from '../../../../services/core/records.ts';
import { RecordCollector } from '../../../../services/core/service/stage/record-collector.ts';
import type { Task } from '../../../../services/core/service/stage/task.ts';
import type { Transport } from '../../../../services/core/transport/port.ts';
import { delegating, wrappingTransactions } from '../../../support/transaction-faults.ts';
import { harness, input, outcome, output, passingOn } from './harness.ts';

/** The log's transport, except that the sends of the first `failures` transactions throw `error`. */
function failingSends(transport: Transport, failures: number, error: () => Error): { transport: Transport; attempts: () => number } {
  let attempts = 0;
  return {
    attempts: () => attempts,
    transport: wrappingTransactions(transport, (transaction) => {
      const failing = ++attempts <= failures;
      return delegating(transaction, {
        async send(batches) {
          if (failing) throw error();
          await transaction.send(batches);
        },
      });
    }),
  };
}

async function taskOver(transport: Transport) {
  const { processor } = passingOn();
  const task: Task = { partition: 0, key: 'task-0', processor: processor.task(0), producer: await transport.transactionalProducer('collector-test.task-0'), inputs: [], lastSnapshotAt: 0, lateReported: 0 };
  return task;
}

describe('the record collector', () => {
  it('tries a transaction that failed before its commit again, and its outputs land once with the offsets', async () => {
    const h = await harness();
    const { transport, attempts } = failingSends(h.log, 2, () => Object.assign(new Error('CONCURRENT_TRANSACTIONS'), { retriable: true }));
    const collector = new RecordCollector(await h.context(passingOn().processor, transport));
    const task = await taskOver(transport);
    task.processor.accept(input, outcome(1), 'tok_1');
    await collector.publish(task, collector.collect(task, []), [{ topic: input, partition: 0, offset: 1 }]);
    expect(attempts()).toBe(3);
    const outcomes = (await h.metrics.get('posguard_transactions_total').get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(outcomes).toEqual([['aborted', 2], ['committed', 1]]);
    const phases = (await h.metrics.get('posguard_transaction_phase_seconds').get()).values.filter((v) => v.metricName?.endsWith('_count')).map((v) => [v.labels.phase, v.value]);
    expect(Object.fromEntries(phases)).toEqual({ begin: 3, send: 3, send_offsets: 1, commit: 1 });
    const out = h.log.log.topic(output).partitions.flat().map((r) => h.serdes.forTopic<CardOutcome>(output).decode(r.value!).outcomeId);
    expect(out).toEqual(['o-1']);
    expect((await h.log.admin.committedOffsets('module-test', input)).find((c) => c.partition === 0)).toMatchObject({ offset: 1, metadata: expect.stringContaining('"time"') });
  });

  it('does not try again an error that says no retry can pass (a fenced producer): nothing is written', async () => {
    const h = await harness();
    const { transport, attempts } = failingSends(h.log, 1, () => Object.assign(new Error('producer fenced'), { retriable: false }));
    const collector = new RecordCollector(await h.context(passingOn().processor, transport));
    const task = await taskOver(transport);
    task.processor.accept(input, outcome(1), 'tok_1');
    await expect(collector.publish(task, collector.collect(task, []), [{ topic: input, partition: 0, offset: 1 }])).rejects.toThrow('producer fenced');
    expect(attempts()).toBe(1);
    expect((await h.metrics.get('posguard_transactions_total').get()).values.map((v) => [v.labels.outcome, v.value])).toEqual([['aborted', 1]]);
    expect(h.log.log.topic(output).partitions.flat()).toHaveLength(0);
  });

  it('collects outputs encoded per topic, adds the dead letters, and counts what it produced', async () => {
    const h = await harness();
    const collector = new RecordCollector(await h.context(passingOn().processor));
    const task = await taskOver(h.log);
    task.processor.accept(input, outcome(1), 'tok_1');
    task.processor.accept(input, outcome(2), 'tok_2');
    const outputs = collector.collect(task, [{ key: null, value: Buffer.from('letter'), timestamp: 1 }]);
    expect([...outputs.keys()]).toEqual([output, 'posguard.dlq.v1']);
    expect(outputs.get(output)!.map((r) => r.key?.toString())).toEqual(['tok_1', 'tok_2']);
    const produced = (await h.metrics.get('posguard_records_produced_total').get()).values.map((v) => [v.labels.topic, v.value]);
    expect(produced).toEqual([[output, 2], ['posguard.dlq.v1', 1]]);
  });
});
