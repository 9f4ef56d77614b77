/**
 * Runs a consume-transform-produce processor over the transport, exactly once between topics:
 * each consumed batch's outputs, its dead letters and its consumed offsets are committed in one
 * transaction (SPEC §4). A record that cannot be decoded or processed goes to the dead-letter topic
 * with the reason; the batch goes on.
 *
 * A stateful processor keeps its state in memory, as a projection of its input topics: whenever
 * this instance's partition assignment changes (start-up, rebalance, restart after a crash) the
 * state is rebuilt by replaying the assigned partitions from the beginning up to the group's
 * committed offsets with outputs discarded (they were committed already), then consumption
 * resumes where the last transaction left off. Processing is deterministic in event time, so the
 * rebuilt state is the state at that commit.
 */
import { randomUUID } from 'node:crypto';
import type { Serdes } from '../codec/serde.ts';
import { topics } from '../codec/topics.ts';
import { PosguardError } from '../errors.ts';
import type { Logger } from '../observability/logging.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ConsumedBatch, ConsumedRecord, Consumer, OutgoingRecord, TopicBatch, TransactionalProducer, Transport } from '../transport/port.ts';
import { deadLetterOf } from './dead-letter.ts';

export interface StageProcessor {
  readonly inputTopics: readonly string[];
  readonly stateful: boolean;
  /** Awaited before each batch (the enricher waits there until its profile tables are current). */
  beforeBatch?(): Promise<void>;
  /** Forgets all state (before a rebuild). */
  reset(): void;
  /** Takes one decoded input record, its key and its partition; may throw for a record it cannot process. */
  accept(topic: string, value: unknown, key: string, partition: number): void;
  /**
   * After each batch, for every input partition seen: whether it is idle — caught up with its log
   * and silent for `idleMs` — so that it no longer holds event time back.
   */
  progress?(topic: string, partition: number, idle: boolean): void;
  /** Moves whatever became ready into `emit`, as decoded values (the runner encodes them). */
  collect(emit: (topic: string, key: string, value: unknown, timestamp: number) => void): void;
  /** A stateful processor's checkpoint, committed with the offsets (what it had released). */
  checkpoint?(): string | undefined;
  /** After the replay of a rebuild: reach the state of the checkpoint; outputs are discarded. */
  restore?(checkpoint: string | undefined): void;
}

export interface StageRunnerDeps {
  readonly service: string;
  readonly groupId: string;
  readonly transactionalId: string;
  readonly transport: Transport;
  readonly serdes: Serdes;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly maxBatchRecords?: number;
}

export interface RunningStage {
  /** True while the stage holds partitions and is not rebuilding its state. */
  readonly ready: () => boolean;
  readonly stop: () => Promise<void>;
}

/**
 * How long a caught-up partition must stay silent (wall clock) before it stops holding the event-time
 * watermark back. Only when inputs are released depends on it, never their order.
 */
const idleMs = 2000;

const assignmentKey = (consumer: Consumer) =>
  consumer.assignment().flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}:${p}`)).sort().join(',');

/**
 * One transaction that writes nothing but the group's current offsets, before any real batch.
 * Seen on a freshly started cluster: the first transactions of a new transactional id race the
 * coordinator's start-up (CONCURRENT_TRANSACTIONS), and kafkajs committed the first batch's offsets
 * without its records (kafkajs issue #1315 shows the same errors). A throw-away first transaction
 * takes that hit instead of data.
 */
async function warmUpTransactions(producer: TransactionalProducer, deps: StageRunnerDeps, inputTopics: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const transaction = await producer.transaction();
    try {
      const offsets = [];
      for (const topic of inputTopics) {
        for (const c of await deps.transport.admin.committedOffsets(deps.groupId, topic)) {
          if (c.offset >= 0) offsets.push({ topic, partition: c.partition, offset: c.offset, ...(c.metadata ? { metadata: c.metadata } : {}) });
        }
      }
      if (offsets.length === 0) {
        const [first] = await deps.transport.admin.endOffsets(inputTopics[0]!);
        // A brand-new group: commit offset 0 of one partition, which is where it starts anyway.
        if (first !== undefined) offsets.push({ topic: inputTopics[0]!, partition: first.partition, offset: 0 });
      }
      await transaction.sendOffsets(deps.groupId, offsets);
      await transaction.commit();
      return;
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      if (attempt >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

export async function runStage(deps: StageRunnerDeps, processor: StageProcessor): Promise<RunningStage> {
  const { transport, serdes, logger, metrics, service } = deps;
  const consumed = metrics.get('posguard_records_consumed_total');
  const produced = metrics.get('posguard_records_produced_total');
  const deadLettered = metrics.get('posguard_dead_letters_total');
  const batchSeconds = metrics.get('posguard_batch_duration_seconds');
  const lag = metrics.get('posguard_consumer_lag_records');

  const producer: TransactionalProducer = await transport.transactionalProducer(deps.transactionalId);
  await warmUpTransactions(producer, deps, processor.inputTopics);
  const consumer = await transport.consumer({ groupId: deps.groupId, topics: processor.inputTopics, maxBatchRecords: deps.maxBatchRecords });
  let rebuiltFor: string | undefined;
  let rebuilding = false;
  const partitions = new Map<string, { topic: string; partition: number; caughtUp: boolean; lastBatchAt: number }>();

  /** Decodes and feeds a batch; returns the dead letters for the records that failed. */
  async function feed(batch: ConsumedBatch, keep: (record: ConsumedRecord) => boolean): Promise<TopicBatch['records'][number][]> {
    const serde = serdes.forTopic(batch.topic);
    await serde.prepare(batch.records.map((r) => r.value));
    const dead: OutgoingRecord[] = [];
    for (const record of batch.records) {
      if (!keep(record)) continue;
      try {
        if (record.value === null) throw new PosguardError('POSGUARD_ERR_CODEC_NOT_AVRO_FRAMED', `${batch.topic}: record has no value`, { topic: batch.topic });
        processor.accept(batch.topic, serde.decode(record.value), record.key === null ? '' : record.key.toString(), record.partition);
      } catch (error) {
        const letter = deadLetterOf(service, record, error);
        deadLettered.inc({ service, topic: batch.topic, code: letter.errorCode });
        logger.warn({ topic: batch.topic, partition: record.partition, offset: record.offset, code: letter.errorCode }, letter.errorMessage);
        dead.push({ key: record.key, value: serdes.forTopic(topics.deadLetters).encode(letter), timestamp: record.timestamp });
      }
    }
    return dead;
  }

  async function rebuild(heartbeat: () => Promise<void>): Promise<void> {
    const started = Date.now();
    processor.reset();
    const targets = new Map<string, number>();
    // Each transaction stores the processor's checkpoint with the offsets it commits; the newest
    // is the largest (checkpoints only grow).
    let checkpoint: string | undefined;
    const newer = (a: string, b: string) => {
      const [x, y] = [JSON.parse(a) as { time: number; id: string }, JSON.parse(b) as { time: number; id: string }];
      return x.time > y.time || (x.time === y.time && x.id > y.id);
    };
    for (const { topic, partitions } of consumer.assignment()) {
      const committed = await transport.admin.committedOffsets(deps.groupId, topic);
      for (const partition of partitions) {
        const entry = committed.find((c) => c.partition === partition);
        const offset = entry?.offset ?? -1;
        if (offset > 0) targets.set(`${topic}:${partition}`, offset);
        if (entry?.metadata && (checkpoint === undefined || newer(entry.metadata, checkpoint))) checkpoint = entry.metadata;
      }
    }
    if (targets.size > 0) {
      const remaining = new Set(targets.keys());
      const reader = await transport.consumer({ groupId: `${deps.groupId}.rebuild.${randomUUID()}`, topics: processor.inputTopics, maxBatchRecords: deps.maxBatchRecords });
      let replayed = 0;
      const done = new Promise<void>((resolve, reject) => {
        reader.run(async (batch) => {
          const key = `${batch.topic}:${batch.partition}`;
          const target = targets.get(key);
          if (target === undefined || !remaining.has(key)) return;
          await feed(batch, (r) => r.offset < target);
          replayed += batch.records.length;
          // A long replay must not cost this member its place in the group (kafkajs throttles heartbeats).
          await heartbeat();
          if (batch.nextOffset >= target) {
            remaining.delete(key);
            if (remaining.size === 0) resolve();
          }
        }).catch(reject);
      });
      await done;
      await reader.disconnect();
      logger.info({ service, partitions: targets.size, replayed, ms: Date.now() - started }, 'rebuilt stage state from its input topics');
    }
    processor.restore?.(checkpoint);
  }

  /**
   * Publishes a batch's outputs and offsets in one transaction, retrying the whole transaction
   * with jittered backoff: the coordinator refuses a new transaction while it still writes the
   * previous one's markers (CONCURRENT_TRANSACTIONS), and the outputs are still in memory.
   */
  async function publish(outputs: Map<string, OutgoingRecord[]>, batch: ConsumedBatch): Promise<void> {
    const checkpoint = processor.checkpoint?.();
    const offsets = [{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset, ...(checkpoint === undefined ? {} : { metadata: checkpoint }) }];
    for (let attempt = 1; ; attempt++) {
      const transaction = await producer.transaction();
      try {
        await transaction.send([...outputs].map(([topic, records]) => ({ topic, records })));
        await transaction.sendOffsets(deps.groupId, offsets);
        await transaction.commit();
        return;
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        if (attempt >= 6 || /fenced|fencing/i.test((error as Error).message)) throw error;
        logger.warn({ service, attempt, error: (error as Error).message }, 'transaction failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  await consumer.run(async (batch, context) => {
    try {
      await handle(batch, context.heartbeat);
    } catch (error) {
      // The processor took some of this batch before the failure; the batch will be delivered
      // again, so its state must be rebuilt first or those records would count twice.
      rebuiltFor = undefined;
      throw error;
    }
  });

  async function handle(batch: ConsumedBatch, heartbeat: () => Promise<void>): Promise<void> {
    const key = assignmentKey(consumer);
    if (key !== rebuiltFor) {
      rebuilding = true;
      try {
        if (processor.stateful) await rebuild(heartbeat);
        else processor.reset();
      } finally {
        rebuilding = false;
      }
      rebuiltFor = key;
      // Every assigned partition holds event time back from the start, until it delivers or goes
      // idle: a partition whose first record comes late must not find its time already released.
      partitions.clear();
      const now = Date.now();
      for (const { topic, partitions: ps } of consumer.assignment()) {
        for (const partition of ps) partitions.set(`${topic}:${partition}`, { topic, partition, caughtUp: true, lastBatchAt: now });
      }
    }
    await processor.beforeBatch?.();
    const started = performance.now();
    const dead = await feed(batch, () => true);
    // On Kafka a transaction's commit marker takes the last offset: one short of the end is the end.
    const now = Date.now();
    partitions.set(`${batch.topic}:${batch.partition}`, {
      topic: batch.topic, partition: batch.partition, lastBatchAt: now,
      caughtUp: batch.highWatermark - batch.nextOffset <= (transport.kind === 'kafka' ? 1 : 0),
    });
    for (const p of partitions.values()) processor.progress?.(p.topic, p.partition, p.caughtUp && now - p.lastBatchAt >= idleMs);
    const outputs = new Map<string, OutgoingRecord[]>();
    processor.collect((topic, outputKey, value, timestamp) => {
      let list = outputs.get(topic);
      if (list === undefined) {
        list = [];
        outputs.set(topic, list);
      }
      list.push({ key: Buffer.from(outputKey), value: serdes.forTopic(topic).encode(value), timestamp });
    });
    if (dead.length > 0) outputs.set(topics.deadLetters, [...(outputs.get(topics.deadLetters) ?? []), ...dead]);

    await publish(outputs, batch);
    consumed.inc({ service, topic: batch.topic }, batch.records.length);
    for (const [topic, records] of outputs) produced.inc({ service, topic }, records.length);
    lag.set({ service, topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - batch.nextOffset));
    batchSeconds.observe({ service }, (performance.now() - started) / 1000);
  }

  return {
    ready: () => consumer.assignment().length > 0 && !rebuilding,
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
