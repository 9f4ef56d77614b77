/**
 * The distributed mode's transport: Apache Kafka through kafkajs. Producers are idempotent (acks
 * from all in-sync replicas, sequence numbers against duplicates on retry); consumers read
 * committed data only and never commit on their own; transactions commit output and consumer
 * offsets together (exactly-once between topics).
 */
import { Kafka, Partitioners, logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../../observability/logging.ts';
import type { ConsumerOptions, Producer, Transaction, TransactionalProducer, Transport } from '../port.ts';
import { kafkaTopicAdmin } from './admin.ts';
import { kafkaConsumer } from './consumer.ts';
import { asPortError, toKafkaOffsets, toRequests } from './messages.ts';

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

  const admin = kafkaTopicAdmin(withAdmin, log);

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
    consumer: (consumerOptions: ConsumerOptions) => kafkaConsumer(kafka, consumerOptions, { maxWaitTimeInMs: options.maxWaitTimeInMs ?? 100, log, connected }),
    async close() {
      await Promise.all([...connected].map((c) => c.disconnect().catch(() => undefined)));
      connected.clear();
      if (adminConnected !== undefined) await kafkaAdmin.disconnect();
    },
  };
}

