/** posguard's records in kafkajs's shapes, and kafkajs's refusals in the port's words. */
import type { Message } from 'kafkajs';
import { PosguardError } from '../../errors.ts';
import type { OutgoingRecord, TopicBatch, TopicPartitionOffset } from '../port.ts';

const oversizedRecordErrors = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** The broker refuses a record over its topic's `max.message.bytes` for good: say so in the port's words. */
export function asPortError(error: unknown): unknown {
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

export function toRequests(batches: readonly TopicBatch[]): { topic: string; messages: Message[] }[][] {
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

export function toKafkaOffsets(offsets: readonly TopicPartitionOffset[]) {
  const byTopic = new Map<string, { partition: number; offset: string; metadata?: string }[]>();
  for (const o of offsets) {
    const partitions = byTopic.get(o.topic) ?? [];
    partitions.push({ partition: o.partition, offset: String(o.offset), ...(o.metadata === undefined ? {} : { metadata: o.metadata }) });
    byTopic.set(o.topic, partitions);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}
