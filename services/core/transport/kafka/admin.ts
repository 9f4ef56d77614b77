/** The port's topic administration over a kafkajs admin client, connected on first use. */
import type { Admin } from 'kafkajs';
import type { Logger } from '../../observability/logging.ts';
import { backoffs, retrying } from '../../retry.ts';
import type { TopicAdmin, TopicSpec } from '../port.ts';

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

export function kafkaTopicAdmin(withAdmin: () => Promise<Admin>, log: Logger): TopicAdmin {
  return {
    async createTopics(specs) {
      const client = await withAdmin();
      // Services started together create the same topics at once, sometimes while an earlier
      // deletion of them is still under way: the broker then answers the wait for leaders with
      // UNKNOWN_TOPIC_OR_PARTITION, which kafkajs reports as final. Try again, with what is still missing.
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
}
