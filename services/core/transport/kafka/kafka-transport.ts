/**
 * The distributed mode's transport: Apache Kafka through kafkajs. Producers are idempotent (acks
 * from all in-sync replicas, sequence numbers against duplicates on retry); consumers read
 * committed data only and never commit on their own; transactions commit output and consumer
 * offsets together (exactly-once between topics).
 */
import {
  Kafka, Partitioners, logLevel as KafkaLogLevel, type Admin, type Consumer as KafkaConsumer, type ConsumerRunConfig, type LogEntry, type Message,
} from 'kafkajs';
import { PosguardError } from '../../errors.ts';
import { backoffs, retrying } from '../../retry.ts';
import type { Logger } from '../../observability/logging.ts';
import { coPartitionedAssigner } from './co-partitioned-assigner.ts';
import type {
  BatchHandler,
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  OutgoingRecord,
  PartitionAssignment,
  Producer,
  TopicAdmin,
  TopicBatch,
  TopicPartitionOffset,
  TopicSpec,
  Transaction,
  TransactionalProducer,
  Transport,
} from '../port.ts';

/** kafkajs errors after which the member must rejoin its group (kafkajs's isRebalancing, and an unknown member). */
const groupRejoinErrors = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

export interface KafkaTransportOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  /** Fetch wait on an idle partition; low values cut latency at the cost of more requests. */
  readonly maxWaitTimeInMs?: number;
}

const kafkaLevelToPino: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

const oversizedRecordErrors = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** The broker refuses a record over its topic's `max.message.bytes` for good: say so in the port's words. */
function asPortError(error: unknown): unknown {
  const type = (e: unknown) => String((e as { type?: unknown } | undefined)?.type);
  if (!oversizedRecordErrors.has(type(error)) && !oversizedRecordErrors.has(type((error as { cause?: unknown }).cause))) return error;
  return new PosguardError('POSGUARD_ERR_TRANSPORT_RECORD_TOO_LARGE', `the broker refused a record as larger than its topic accepts: ${(error as Error).message}`, {}, { cause: error });
}

function toMessage(record: OutgoingRecord): Message {
  return {
    key: record.key,
    value: record.value,
    headers: record.headers as Message['headers'],
    timestamp: record.timestamp === undefined ? undefined : String(record.timestamp),
    ...(record.partition === undefined ? {} : { partition: record.partition }),
  };
}

/**
 * Brokers refuse a produce request whose record batch for a partition exceeds message.max.bytes
 * (1 MiB by default). Large outputs (a detector stage's re-keyed batch) are sent as several
 * requests of at most this many bytes of keys and values; within a transaction they still commit
 * together.
 */
const maxRequestBytes = 768 * 1024;

function toRequests(batches: readonly TopicBatch[]): { topic: string; messages: Message[] }[][] {
  const requests: { topic: string; messages: Message[] }[][] = [];
  let current: { topic: string; messages: Message[] }[] = [];
  let bytes = 0;
  for (const batch of batches) {
    let messages: Message[] = [];
    for (const record of batch.records) {
      const size = (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64;
      if (bytes + size > maxRequestBytes && bytes > 0) {
        if (messages.length > 0) current.push({ topic: batch.topic, messages });
        requests.push(current);
        current = [];
        messages = [];
        bytes = 0;
      }
      messages.push(toMessage(record));
      bytes += size;
    }
    if (messages.length > 0) current.push({ topic: batch.topic, messages });
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

function toKafkaOffsets(offsets: readonly TopicPartitionOffset[]) {
  const byTopic = new Map<string, { partition: number; offset: string; metadata?: string }[]>();
  for (const o of offsets) {
    const partitions = byTopic.get(o.topic) ?? [];
    partitions.push({ partition: o.partition, offset: String(o.offset), ...(o.metadata === undefined ? {} : { metadata: o.metadata }) });
    byTopic.set(o.topic, partitions);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

export function createKafkaTransport(options: KafkaTransportOptions): Transport {
  const log = options.logger.child({ component: 'kafkajs' });
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      // kafkajs logs each failed request at ERROR before retrying it (coordinator loading, group
      // rebalancing …); what matters surfaces as a rejected call, so request lines are debug.
      const level = entry.namespace === 'Connection' ? 'debug' : (kafkaLevelToPino[entry.level] ?? 'info');
      log[level]({ namespace: entry.namespace, ...extra }, message);
    },
  });
  const connected = new Set<{ disconnect(): Promise<void> }>();
  const kafkaAdmin = kafka.admin();
  let adminConnected: Promise<void> | undefined;
  const withAdmin = async () => {
    adminConnected ??= kafkaAdmin.connect();
    await adminConnected;
    return kafkaAdmin;
  };

  async function createMissing(client: Admin, specs: readonly TopicSpec[]): Promise<void> {
    const existing = new Set(await client.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    await client.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        configEntries: [
          ...(s.compacted === true ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
          ...Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        ],
      })),
    });
  }

  const admin: TopicAdmin = {
    async createTopics(specs) {
      const client = await withAdmin();
      // Services started together create the same topics at once, sometimes while an earlier
      // deletion of them is still under way: the broker then answers the wait for leaders with
      // UNKNOWN_TOPIC_OR_PARTITION, which kafkajs does not retry. Try again, with what is still missing.
      await retrying(backoffs.topicCreation, () => createMissing(client, specs), {
        retriable: () => true,
        onRetry: (attempt, _delayMs, error) => log.debug({ attempt, error: (error as Error).message }, 'creating topics failed; retrying'),
      });
    },
    async deleteTopics(topics) {
      const client = await withAdmin();
      const existing = new Set(await client.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length > 0) await client.deleteTopics({ topics: present });
    },
    async listTopics() {
      return (await (await withAdmin()).listTopics()).sort();
    },
    async committedOffsets(groupId, topic) {
      const [entry] = await (await withAdmin()).fetchOffsets({ groupId, topics: [topic] });
      return (entry?.partitions ?? []).map((p) => ({ partition: p.partition, offset: Number(p.offset), metadata: p.metadata }))
        .sort((a, b) => a.partition - b.partition);
    },
    async endOffsets(topic) {
      const offsets = await (await withAdmin()).fetchTopicOffsets(topic);
      return offsets.map((p) => ({ partition: p.partition, offset: Number(p.high) })).sort((a, b) => a.partition - b.partition);
    },
    async startOffsets(topic) {
      const offsets = await (await withAdmin()).fetchTopicOffsets(topic);
      return offsets.map((p) => ({ partition: p.partition, offset: Number(p.low) })).sort((a, b) => a.partition - b.partition);
    },
  };

  function track<T extends { disconnect(): Promise<void> }>(client: T): T {
    connected.add(client);
    return client;
  }

  return {
    kind: 'kafka',
    admin,
    async producer(): Promise<Producer> {
      const producer = track(kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner }));
      await producer.connect();
      return {
        async send(batches) {
          try {
            for (const topicMessages of toRequests(batches)) await producer.sendBatch({ topicMessages, acks: -1 });
          } catch (error) {
            throw asPortError(error);
          }
        },
        async disconnect() {
          connected.delete(producer);
          await producer.disconnect();
        },
      };
    },
    async transactionalProducer(transactionalId): Promise<TransactionalProducer> {
      const producer = track(kafka.producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      }));
      await producer.connect();
      return {
        async transaction(): Promise<Transaction> {
          const transaction = await producer.transaction();
          return {
            async send(batches) {
              for (const topicMessages of toRequests(batches)) await transaction.sendBatch({ topicMessages, acks: -1 });
            },
            async sendOffsets(groupId, offsets) {
              await transaction.sendOffsets({ consumerGroupId: groupId, topics: toKafkaOffsets(offsets) });
            },
            commit: () => transaction.commit(),
            abort: () => transaction.abort(),
          };
        },
        async disconnect() {
          connected.delete(producer);
          await producer.disconnect();
        },
      };
    },
    async consumer(consumerOptions: ConsumerOptions): Promise<Consumer> {
      let stopping = false;
      const consumer: KafkaConsumer = track(kafka.consumer({
        groupId: consumerOptions.groupId,
        readUncommitted: false,
        maxWaitTimeInMs: options.maxWaitTimeInMs ?? 100,
        // Bounds the records one fetch brings per partition, and so the batch size handed over.
        maxBytesPerPartition: (consumerOptions.maxBatchRecords ?? 1000) * 512,
        partitionAssigners: [coPartitionedAssigner],
        // A crash racing a disconnect (a connection closed under a member still joining) must not
        // bring the member back: kafkajs would reconnect after we left, and keep the process alive.
        retry: { restartOnFailure: async () => !stopping },
      }));
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
        await consumer.subscribe({ topics: [...consumerOptions.topics], fromBeginning: consumerOptions.fromBeginning ?? true });
      };
      // kafkajs stops a member for good after an error it deems final. The port promises a member
      // that keeps consuming, so it is started again, with backoff, until it runs or is stopped.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        joined = false;
        if (payload.restart || stopping || runConfig === undefined) return;
        log.error({ group: consumerOptions.groupId, error: payload.error.message }, 'the consumer stopped on an error kafkajs does not retry; starting it again');
        void retrying(backoffs.consumerRestart, async (attempt) => {
          // The first attempt waits too: what stopped the member may not have passed yet.
          if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, backoffs.consumerRestart.firstDelayMs));
          await start();
          await consumer.run(runConfig);
        }, {
          retriable: () => true, stopped: () => stopping,
          onRetry: (attempt, _delayMs, error) => log.warn({ group: consumerOptions.groupId, attempt, error: (error as Error).message }, 'starting the consumer again failed; retrying'),
        });
      });
      await start();
      return {
        async run(handler: BatchHandler) {
          runConfig = {
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
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
              if (records.length === 0) return;
              try {
                await handler({
                  topic: batch.topic,
                  partition: batch.partition,
                  records,
                  highWatermark: Number(batch.highWatermark),
                  // Past any transaction marker or aborted record the fetch held after the last record.
                  nextOffset: Math.max(records[records.length - 1]!.offset, Number(batch.lastOffset())) + 1,
                }, { heartbeat });
              } catch (error) {
                // The port promises the batch again. kafkajs retries what it deems retriable and stops the
                // member for good otherwise: a PosguardError marked not retriable, or a transactional
                // producer's state error after a broker restart, would end consumption there. A group
                // error (a rebalance seen by a heartbeat inside a long handler) stays as it is: kafkajs
                // rejoins on it by its type. Rewrapped, it was retried on the old generation until the
                // member crashed, and two instances rebuilding a stage kept each other rebalancing.
                if ((error as { retriable?: unknown }).retriable === false && !groupRejoinErrors.has(String((error as { type?: unknown }).type))) {
                  throw Object.assign(new Error((error as Error).message, { cause: error }), { retriable: true });
                }
                throw error;
              }
            },
          };
          const running = consumer.run(runConfig);
          // kafkajs takes seeks only once run() has built the group; it applies them when the partitions are assigned.
          for (const o of consumerOptions.startAt ?? []) consumer.seek({ topic: o.topic, partition: o.partition, offset: String(o.offset) });
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
          connected.delete(consumer);
          await consumer.disconnect();
          assignment = [];
          joined = false;
          read.clear();
        },
      };
    },
    async close() {
      await Promise.all([...connected].map((c) => c.disconnect().catch(() => undefined)));
      connected.clear();
      if (adminConnected !== undefined) await kafkaAdmin.disconnect();
    },
  };
}

