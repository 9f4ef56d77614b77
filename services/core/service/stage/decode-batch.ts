/**
 * Decodes a consumed batch record by record and hands each to `accept`; a record that cannot be
 * decoded or that `accept` refuses becomes a dead letter (masked, bounded key) and the batch goes
 * on. Shared by every consumer of a topic: stage tasks, their rebuilds and the sink.
 */
import type { Serdes } from '../../codec/serde.ts';
import { topics } from '../../codec/topics.ts';
import { PosguardError } from '../../errors.ts';
import type { Logger } from '../../observability/logging.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { ConsumedBatch, ConsumedRecord, OutgoingRecord } from '../../transport/port.ts';
import { deadLetterOf } from '../dead-letter.ts';

export interface DecodeDeps {
  readonly service: string;
  readonly serdes: Serdes;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Returns the dead letters of the records that failed; records `keep` refuses are passed over. */
export async function decodeBatch(deps: DecodeDeps, batch: ConsumedBatch, keep: (record: ConsumedRecord) => boolean,
  accept: (value: unknown, key: string, record: ConsumedRecord) => void): Promise<OutgoingRecord[]> {
  const serde = deps.serdes.forTopic(batch.topic);
  await serde.prepare(batch.records.map((r) => r.value));
  const dead: OutgoingRecord[] = [];
  for (const record of batch.records) {
    if (!keep(record)) continue;
    try {
      if (record.value === null) throw new PosguardError('POSGUARD_ERR_CODEC_NOT_AVRO_FRAMED', `${batch.topic}: record has no value`, { topic: batch.topic });
      accept(serde.decode(record.value), record.key === null ? '' : record.key.toString(), record);
    } catch (error) {
      dead.push(deadLetterRecord(deps, record, error));
    }
  }
  return dead;
}

/** The dead letter of one record, counted and logged; its key is the original, masked and bounded. */
export function deadLetterRecord(deps: DecodeDeps, record: ConsumedRecord, error: unknown): OutgoingRecord {
  const letter = deadLetterOf(deps.service, record, error);
  deps.metrics.get('posguard_dead_letters_total').inc({ service: deps.service, topic: record.topic, code: letter.errorCode });
  deps.logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset, code: letter.errorCode }, letter.errorMessage);
  return { key: record.key === null ? null : letter.originalKey, value: deps.serdes.forTopic(topics.deadLetters).encode(letter), timestamp: record.timestamp };
}
