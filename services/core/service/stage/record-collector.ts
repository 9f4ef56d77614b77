/**
 * A task's way out: encodes what its processor made ready, and publishes outputs, dead letters and
 * consumed offsets (with the task's checkpoint) in one transaction of the task's producer.
 */
import { topics } from '../../codec/topics.ts';
import { backoffs, mayPassOnRetry, retrying } from '../../retry.ts';
import type { OutgoingRecord, TopicPartitionOffset, TransactionalProducer } from '../../transport/port.ts';
import type { StageContext } from './context.ts';
import type { Task } from './task.ts';

export class RecordCollector {
  private readonly produced;
  private readonly lateInputs;
  private readonly transactions;
  private readonly phaseSeconds;
  private readonly transactionRecords;
  private readonly watermarkDelay;
  private readonly stateKeys;

  constructor(private readonly context: StageContext) {
    const { metrics } = context.deps;
    this.produced = metrics.get('posguard_records_produced_total');
    this.lateInputs = metrics.get('posguard_late_inputs_total');
    this.transactions = metrics.get('posguard_transactions_total');
    this.phaseSeconds = metrics.get('posguard_transaction_phase_seconds');
    this.transactionRecords = metrics.get('posguard_transaction_records');
    this.watermarkDelay = metrics.get('posguard_watermark_delay_seconds');
    this.stateKeys = metrics.get('posguard_state_keys');
    // From zero, so that a rule on its increase sees the series before the first late input.
    this.lateInputs.inc({ service: context.deps.service, group: context.deps.groupId }, 0);
  }

  /** Takes what a task made ready, encoded per topic, with the dead letters; counts it as produced. */
  collect(task: Task, dead: readonly OutgoingRecord[]): Map<string, OutgoingRecord[]> {
    const { service, serdes, groupId, logger } = this.context.deps;
    const outputs = new Map<string, OutgoingRecord[]>();
    task.processor.collect((topic, outputKey, value, timestamp, partition) => {
      let list = outputs.get(topic);
      if (list === undefined) {
        list = [];
        outputs.set(topic, list);
      }
      list.push({ key: Buffer.from(outputKey), value: serdes.forTopic(topic).encode(value), timestamp, ...(partition === undefined ? {} : { partition }) });
    });
    const late = task.processor.lateInputs?.() ?? 0;
    if (late > task.lateReported) {
      this.lateInputs.inc({ service, group: groupId }, late - task.lateReported);
      logger.warn({ group: groupId, task: task.key, late: late - task.lateReported },
        'inputs arrived after the event-time watermark had passed them: processed out of order, so alerts may differ from a replay');
      task.lateReported = late;
    }
    if (dead.length > 0) outputs.set(topics.deadLetters, [...(outputs.get(topics.deadLetters) ?? []), ...dead]);
    for (const [topic, records] of outputs) this.produced.inc({ service, topic }, records.length);
    return outputs;
  }

  /**
   * Publishes a task's outputs and offsets in one transaction, retrying the whole transaction
   * with jittered backoff while it fails before its commit: the coordinator refuses a new
   * transaction while it still writes the previous one's markers (CONCURRENT_TRANSACTIONS), and
   * the outputs are still in memory. A commit that fails is not retried: its answer may have been
   * lost with the commit done (a broker killed mid-commit), and the same outputs committed again
   * would be duplicates. The caller marks the task stale instead; its rebuild opens the producer
   * again, which settles that transaction either way, and resumes from the offsets the group has.
   */
  async publish(task: Task, outputs: ReadonlyMap<string, OutgoingRecord[]>, committing: readonly TopicPartitionOffset[]): Promise<void> {
    const { groupId, logger, service } = this.context.deps;
    const checkpoint = task.processor.checkpoint?.();
    const offsets = committing.map((o) => ({ ...o, ...(checkpoint === undefined ? {} : { metadata: checkpoint }) }));
    let records = 0;
    for (const list of outputs.values()) records += list.length;
    let commitSent = false;
    await retrying(backoffs.transaction, async () => {
      const phase = this.phaseTimer(service, groupId);
      const transaction = await phase('begin', () => task.producer.transaction());
      try {
        await phase('send', () => transaction.send([...outputs].map(([topic, records]) => ({ topic, records }))));
        await phase('send_offsets', () => transaction.sendOffsets(groupId, offsets));
        commitSent = true;
        await phase('commit', () => transaction.commit());
        this.transactions.inc({ service, group: groupId, outcome: 'committed' });
        this.transactionRecords.observe({ service, group: groupId }, records);
      } catch (error) {
        this.transactions.inc({ service, group: groupId, outcome: commitSent ? 'commit_failed' : 'aborted' });
        if (commitSent) {
          logger.warn({ group: groupId, task: task.key, error: (error as Error).message },
            'the commit of a transaction failed, and may have happened: the task resumes from the offsets its group has');
        } else {
          await transaction.abort().catch(() => undefined);
        }
        throw error;
      }
    }, {
      // A fenced producer says no retry can pass; a commit that may have happened must not be sent again.
      retriable: (error) => !commitSent && mayPassOnRetry(error),
      onRetry: (attempt, _delayMs, error) => logger.warn({ group: groupId, task: task.key, attempt, error: (error as Error).message }, 'transaction failed; retrying'),
    });
    const watermark = task.processor.watermark?.();
    if (watermark !== undefined && Number.isFinite(watermark)) this.watermarkDelay.set({ service, group: groupId, task: task.key }, (Date.now() - watermark) / 1000);
    const keys = task.processor.keys?.();
    if (keys !== undefined) this.stateKeys.set({ service, group: groupId, task: task.key }, keys);
  }

  /** Runs one phase of a transaction, timing it. */
  private phaseTimer(service: string, group: string) {
    return async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        this.phaseSeconds.observe({ service, group, phase }, (performance.now() - started) / 1000);
      }
    };
  }

  /**
   * One transaction that writes nothing but the task's current offsets, before any real batch.
   * Seen on a freshly started cluster: the first transactions of a new transactional id race the
   * coordinator's start-up (CONCURRENT_TRANSACTIONS), and kafkajs committed the first batch's
   * offsets without its records (kafkajs issue #1315 shows the same errors). A throw-away first
   * transaction takes that hit instead of data.
   */
  async warmUp(producer: TransactionalProducer, partition: number): Promise<void> {
    const { deps, stage } = this.context;
    await retrying(backoffs.warmUpTransaction, async () => {
      const transaction = await producer.transaction();
      try {
        const offsets: TopicPartitionOffset[] = [];
        for (const topic of stage.inputTopics) {
          const c = (await deps.transport.admin.committedOffsets(deps.groupId, topic)).find((o) => o.partition === partition);
          if (c !== undefined && c.offset >= 0) offsets.push({ topic, partition, offset: c.offset, ...(c.metadata ? { metadata: c.metadata } : {}) });
        }
        // Nothing committed yet: offset 0 is where the task starts anyway.
        if (offsets.length === 0) offsets.push({ topic: stage.inputTopics[0]!, partition, offset: 0 });
        await transaction.sendOffsets(deps.groupId, offsets);
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    });
  }
}
