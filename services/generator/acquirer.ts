/**
 * The synthetic acquirer on the wire: produces a generated stream to the topics in event-time
 * order, in batches, as acquirers would (profiles keyed by their id, authorisations and outcomes
 * by card). A malformed record is produced as the raw JSON an acquirer's broken client might
 * send, not Avro: the enricher must dead-letter it.
 */
import type { Serdes } from '../core/codec/serde.ts';
import { topics } from '../core/codec/topics.ts';
import type { OutgoingRecord, Producer } from '../core/transport/port.ts';
import type { StreamRecord } from './stream.ts';

function toWire(r: StreamRecord, serdes: Serdes): { topic: string; record: OutgoingRecord } {
  switch (r.type) {
    case 'merchant':
      return { topic: topics.merchantProfiles, record: { key: Buffer.from(r.record.merchantId), value: serdes.forTopic(topics.merchantProfiles).encode(r.record), timestamp: r.record.updatedAt } };
    case 'terminal':
      return { topic: topics.terminalProfiles, record: { key: Buffer.from(r.record.terminalId), value: serdes.forTopic(topics.terminalProfiles).encode(r.record), timestamp: r.record.updatedAt } };
    case 'authorisation':
      return { topic: topics.authorisations, record: { key: Buffer.from(r.record.cardToken), value: serdes.forTopic(topics.authorisations).encode(r.record), timestamp: r.record.eventTime } };
    case 'outcome':
      return { topic: topics.cardOutcomes, record: { key: Buffer.from(r.record.cardToken), value: serdes.forTopic(topics.cardOutcomes).encode(r.record), timestamp: r.record.reportedAt } };
    case 'malformed':
      return { topic: topics.authorisations, record: { key: Buffer.from(String(r.json.cardToken ?? 'unknown')), value: Buffer.from(JSON.stringify(r.json)), timestamp: r.time } };
    default: {
      const unreachable: never = r;
      throw new Error(`unknown record ${String(unreachable)}`);
    }
  }
}

/** Sends `records` through `producer` in chunks; `onChunk` reports progress. Order within a topic is kept. */
export async function produceStream(records: readonly StreamRecord[], producer: Producer, serdes: Serdes, options: {
  chunk?: number; onChunk?: (sent: number) => void; filter?: (r: StreamRecord, index: number) => boolean;
} = {}): Promise<number> {
  const chunk = options.chunk ?? 2000;
  let sent = 0;
  for (let start = 0; start < records.length; start += chunk) {
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (let i = start; i < Math.min(records.length, start + chunk); i++) {
      const r = records[i]!;
      if (options.filter !== undefined && !options.filter(r, i)) continue;
      const { topic, record } = toWire(r, serdes);
      let list = byTopic.get(topic);
      if (list === undefined) {
        list = [];
        byTopic.set(topic, list);
      }
      list.push(record);
      sent++;
    }
    // Profiles first: a profile that takes effect before an authorisation must be in the log before it.
    const order = [topics.merchantProfiles, topics.terminalProfiles, topics.authorisations, topics.cardOutcomes];
    await producer.send(order.filter((t) => byTopic.has(t)).map((topic) => ({ topic, records: byTopic.get(topic)! })));
    options.onChunk?.(sent);
  }
  return sent;
}
