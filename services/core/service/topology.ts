/** Creates every topic posguard uses, with the configured partition count and retention (idempotent: existing topics keep theirs). */
import { topicContracts } from '../codec/topics.ts';
import type { TopicAdmin } from '../transport/port.ts';

export async function ensureTopics(admin: TopicAdmin, partitions: number, retentionMs: number): Promise<void> {
  await admin.createTopics(topicContracts.map((c) => ({
    topic: c.topic,
    partitions: c.internal?.partitions ?? partitions,
    compacted: c.compacted,
    // Records carry their event time, which for a replayed or late stream is long past: the broker
    // stamps them on arrival instead, so retention counts from when a record was received.
    // Profiles are compacted: the latest per id is kept whatever its age. The rest age out.
    config: {
      'message.timestamp.type': 'LogAppendTime',
      ...(c.compacted === true ? {} : { 'retention.ms': String(retentionMs) }),
    } as Record<string, string>,
  })));
}
