/** Creates every topic posguard uses, with the configured partition count (idempotent). */
import { topicContracts } from '../codec/topics.ts';
import type { TopicAdmin } from '../transport/port.ts';

export async function ensureTopics(admin: TopicAdmin, partitions: number): Promise<void> {
  await admin.createTopics(topicContracts.map((c) => ({
    topic: c.topic,
    partitions: c.internal?.partitions ?? partitions,
    compacted: c.compacted,
  })));
}
