/**
 * Forgets everything the pipeline wrote on a broker: the contract and internal topics, the
 * detector stages' snapshot topics, and the services' consumer groups. For runs that must start
 * from nothing (the benchmark's Kafka runs, the tests that run the real services); never part of
 * operating posguard.
 */
import { Kafka, logLevel } from 'kafkajs';
import { topicContracts } from '../core/codec/topics.ts';
import { snapshotTopicOf } from '../core/service/state-snapshots.ts';
import type { Transport } from '../core/transport/port.ts';
import { consumerGroups, topology } from '../topology/topology.ts';

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function deletePipelineState(transport: Transport, brokers: readonly string[]): Promise<void> {
  // The stages' snapshots too: they describe positions in the topics deleted here.
  const owned = [...topicContracts.map((c) => c.topic), ...topology.filter((s) => s.state !== undefined).map((s) => snapshotTopicOf(s.group))];
  await transport.admin.deleteTopics(owned);
  // And the services' groups: Kafka may keep a group's committed offsets for a deleted topic, which
  // would point past the end of the new one.
  const admin = new Kafka({ brokers: [...brokers], clientId: 'posguard-reset', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    // A member killed earlier stays in its group until its session times out (30 s).
    await until("the services' groups deleted", async () => {
      const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
      const groups = Object.keys(consumerGroups).filter((g) => existing.has(g));
      if (groups.length === 0) return true;
      await admin.deleteGroups(groups).catch(() => undefined);
      return false;
    }, 120_000);
  } finally {
    await admin.disconnect();
  }
  await until('the topics deleted', async () => {
    const names = await transport.admin.listTopics();
    return owned.every((topic) => !names.includes(topic));
  }, 60_000);
}
