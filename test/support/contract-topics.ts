/**
 * The contract topics (`auth.requests.v1` …) have fixed names, and the services' groups fixed ids:
 * test files that run the real services share them on the one test broker. Such a file holds this
 * lock for its whole run (other files go on in parallel) and starts from deleted topics.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicContracts } from '../../services/core/codec/topics.ts';
import { snapshotTopicOf } from '../../services/core/service/state-snapshots.ts';
import type { Transport } from '../../services/core/transport/port.ts';
import { detectorGroupId, detectorStages } from '../../services/detectors/service.ts';
import { pipelineGroups } from '../../services/pipeline/drain.ts';
import { waitFor } from './wait.ts';

const lock = join(tmpdir(), 'posguard-test-contract-topics.lock');

/** Waits for the lock (taking over one older than an hour: its holder died), then deletes the topics and the services' groups. */
export async function claimContractTopics(kafka: Transport, brokers: string): Promise<() => void> {
  await waitFor('the contract topics to be free (another test file runs the services)', () => {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      const takenAt = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (takenAt !== undefined && Date.now() - takenAt > 3_600_000) rmSync(lock, { recursive: true, force: true });
      return false;
    }
  }, 1_800_000);
  const release = () => rmSync(lock, { recursive: true, force: true });
  try {
    await emptyContractTopics(kafka, brokers);
  } catch (error) {
    release();
    throw error;
  }
  return release;
}

async function emptyContractTopics(kafka: Transport, brokers: string): Promise<void> {
  // The stages' snapshots too: they describe positions in the topics deleted here.
  const owned = [...topicContracts.map((c) => c.topic), ...detectorStages.map((stage) => snapshotTopicOf(detectorGroupId(stage)))];
  await kafka.admin.deleteTopics(owned);
  // And the services' groups: Kafka may keep a group's committed offsets for a deleted topic, which
  // would point past the end of the new one.
  const admin = new Kafka({ brokers: brokers.split(','), clientId: 'posguard-test-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  // A member killed by an earlier test stays in its group until its session times out (30 s).
  await waitFor("the services' groups deleted", async () => {
    const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    const groups = Object.keys(pipelineGroups).filter((g) => existing.has(g));
    if (groups.length === 0) return true;
    await admin.deleteGroups(groups).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return false;
  }, 120_000);
  await admin.disconnect();
  await waitFor('contract topics deleted', async () => {
    const names = await kafka.admin.listTopics();
    return owned.every((topic) => !names.includes(topic));
  }, 60_000);
}
