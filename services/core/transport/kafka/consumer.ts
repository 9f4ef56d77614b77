/**
 * The port's consumer over a kafkajs consumer: read-committed, never committing on its own,
 * co-partitioned assignment, batches handed over one partition at a time, and a member that keeps
 * consuming — kafkajs stops one for good after an error it deems final; this one starts again.
 */
import type { Batch, Consumer as KafkaConsumer, ConsumerRunConfig, Kafka } from 'kafkajs';
import type { Logger } from '../../observability/logging.ts';
import { backoffs, retrying } from '../../retry.ts';
import type { BatchHandler, ConsumedBatch, ConsumedRecord, Consumer, ConsumerOptions, PartitionAssignment } from '../port.ts';
import { coPartitionedAssigner } from './co-partitioned-assigner.ts';

/** kafkajs errors after which the member must rejoin its group (kafkajs's isRebalancing, and an unknown member). */
const groupRejoinErrors = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/** A kafkajs batch in the port's shape; undefined when it holds no record. */
function consumedBatch(batch: Batch): ConsumedBatch | undefined {
  const records: ConsumedRecord[] = new Array(batch.messages.length);
  for (let i = 0; i < batch.messages.length; i++) {
    const m = batch.messages[i]!;
    records[i] = {
      topic: batch.topic,
      partition: batch.partition,
      offset: Number(m.offset),
      key: m.key,
      value: m.value,
      headers: (m.headers ?? {}) as Record<string, Buffer | undefined>,
      timestamp: Number(m.timestamp),
    };
  }
  if (records.length === 0) return undefined;
  return {
    topic: batch.topic,
    partition: batch.partition,
    records,
    highWatermark: Number(batch.highWatermark),
    // Past any transaction marker or aborted record the fetch held after the last record.
    nextOffset: Math.max(records[records.length - 1]!.offset, Number(batch.lastOffset())) + 1,
  };
}

/**
 * The port promises the batch again after a handler's error. kafkajs retries what it deems
 * retriable and stops the member for good otherwise: a PosguardError marked not retriable, or a
 * transactional producer's state error after a broker restart, would end consumption there. A group
 * error (a rebalance seen by a heartbeat inside a long handler) stays as it is: kafkajs rejoins on
 * it by its type. Rewrapped, it was retried on the old generation until the member crashed, and two
 * instances rebuilding a stage kept each other rebalancing.
 */
function forKafkajs(error: unknown): unknown {
  if ((error as { retriable?: unknown }).retriable === false && !groupRejoinErrors.has(String((error as { type?: unknown }).type))) {
    return Object.assign(new Error((error as Error).message, { cause: error }), { retriable: true });
  }
  return error;
}

/** `connected` holds the clients the transport closes with it: the consumer is in it from its creation until it disconnects. */
export async function kafkaConsumer(kafka: Kafka, options: ConsumerOptions,
  settings: { maxWaitTimeInMs: number; log: Logger; connected: Set<{ disconnect(): Promise<void> }> }): Promise<Consumer> {
  const { log } = settings;
  let stopping = false;
  const consumer: KafkaConsumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    maxWaitTimeInMs: settings.maxWaitTimeInMs,
    // Bounds the records one fetch brings per partition, and so the batch size handed over.
    maxBytesPerPartition: (options.maxBatchRecords ?? 1000) * 512,
    partitionAssigners: [coPartitionedAssigner],
    // A crash racing a disconnect (a connection closed under a member still joining) must not
    // bring the member back: kafkajs would reconnect after we left, and keep the process alive.
    retry: { restartOnFailure: async () => !stopping },
  });
  settings.connected.add(consumer);
  let assignment: PartitionAssignment[] = [];
  let joined = false;
  const read = new Map<string, number>();
  // Fetches that held only transaction markers or aborted records never reach eachBatch; kafkajs
  // still reports them, with the last offset it read.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    read.set(`${payload.topic}:${payload.partition}`, Number(payload.lastOffset) + 1);
  });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    assignment = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
    read.clear();
    joined = true;
  });
  let runConfig: ConsumerRunConfig | undefined;
  const start = async () => {
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
  };
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    if (payload.restart || stopping || runConfig === undefined) return;
    log.error({ group: options.groupId, error: payload.error.message }, 'the consumer stopped on an error kafkajs does not retry; starting it again');
    void retrying(backoffs.consumerRestart, async (attempt) => {
      // The first attempt waits too: what stopped the member may not have passed yet.
      if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, backoffs.consumerRestart.firstDelayMs));
      await start();
      await consumer.run(runConfig);
    }, {
      // The port promises a member that keeps consuming, whatever stopped it.
      retriable: () => true, stopped: () => stopping,
      onRetry: (attempt, _delayMs, error) => log.warn({ group: options.groupId, attempt, error: (error as Error).message }, 'starting the consumer again failed; retrying'),
    });
  });
  await start();
  return {
    async run(handler: BatchHandler) {
      runConfig = {
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          const consumed = consumedBatch(batch);
          if (consumed === undefined) return;
          try {
            await handler(consumed, { heartbeat });
          } catch (error) {
            throw forKafkajs(error);
          }
        },
      };
      const running = consumer.run(runConfig);
      // kafkajs takes seeks only once run() has built the group; it applies them when the partitions are assigned.
      for (const o of options.startAt ?? []) consumer.seek({ topic: o.topic, partition: o.partition, offset: String(o.offset) });
      await running;
    },
    async commit(offsets) {
      await consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
    },
    assignment: () => assignment,
    joined: () => joined,
    readThrough: (topic, partition) => read.get(`${topic}:${partition}`),
    async disconnect() {
      stopping = true;
      settings.connected.delete(consumer);
      await consumer.disconnect();
      assignment = [];
      joined = false;
      read.clear();
    },
  };
}
