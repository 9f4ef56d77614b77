/**
 * Durable, bounded detector state on the real stack. The detectors run as a process with state
 * snapshots every second; mid-stream the process is killed (SIGKILL), and the input history below
 * its newest snapshots is deleted — what retention does to an old log, done at once with
 * DeleteRecords, which moves a partition's start offset exactly as retention does. After the restart
 * the alerts are exactly the embedded run's, and each stage's rebuild read its snapshot and only
 * the input after it.
 *
 * It runs the real services on the contract topics, taking turns with the other files that do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadSchemaCatalog } from '../../services/core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import type { FraudAlert } from '../../services/core/records.ts';
import { SnapshotStore, type SnapshotManifest } from '../../services/core/service/state-snapshots.ts';
import { createKafkaTransport } from '../../services/core/transport/kafka/kafka-transport.ts';
import type { Transport } from '../../services/core/transport/port.ts';
import { detectorStateVersion } from '../../services/detectors/kernel/snapshot.ts';
import { detectorStages } from '../../services/detectors/service.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { claimContractTopics } from '../support/contract-topics.ts';
import { readTopic, referenceAlertIds } from '../support/reference-run.ts';
import { endServices, startService, stopService, waitForQuietGroups, type ServiceProcess } from '../support/service-process.ts';
import { waitFor } from '../support/wait.ts';
import { consumerGroups, groupOf } from '../../services/topology/topology.ts';

const { kafkaBrokers, schemaRegistryUrl } = inject('endpoints');
const logger = createLogger({ level: 'error', name: 'snapshot-test' });
const dataDir = mkdtempSync(join(tmpdir(), 'posguard-snapshot-'));
const logDir = join(tmpdir(), 'posguard-snapshot-logs');
const partitionIdleMs = 500;
const env = {
  KAFKA_BROKERS: kafkaBrokers, SCHEMA_REGISTRY_URL: schemaRegistryUrl, POSGUARD_DATA_DIR: dataDir, LOG_LEVEL: 'info',
  POSGUARD_PARTITION_IDLE_MS: String(partitionIdleMs), POSGUARD_SNAPSHOT_INTERVAL_MS: '1000',
};
const stream = generateStream({ ...defaultGeneratorOptions, seed: 424242, cards: 3000, merchants: 200 });
const detectorGroups = detectorStages.map(groupOf);
const services: ServiceProcess[] = [];
let kafka: Transport;
let serdes: Serdes;
let embeddedAlertIds: string[] = [];
let releaseContractTopics = () => {};

/** The newest snapshot manifest of each task of a stage (task p: partition p of its inputs). */
async function newestManifests(group: string): Promise<SnapshotManifest[]> {
  const tasks = (await kafka.admin.endOffsets(consumerGroups[group]![0]!)).map((p) => `task-${p.partition}`);
  const store = new SnapshotStore(kafka, group, detectorStateVersion, logger);
  const { found } = await store.load(tasks, new AbortController().signal);
  await store.close();
  return found.size === tasks.length ? [...found.values()].map((s) => s.manifest) : [];
}

/** A gauge of a running service, summed over the label values that match. */
async function gauge(service: ServiceProcess, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const drained = () => waitForQuietGroups(kafka, ['posguard.enricher', ...detectorGroups], 6 * partitionIdleMs + 2000);

beforeAll(async () => {
  kafka = createKafkaTransport({ brokers: kafkaBrokers.split(','), clientId: 'posguard-snapshot-test', logger });
  releaseContractTopics = await claimContractTopics(kafka, kafkaBrokers);
  serdes = await registerSerdes(createConfluentSchemaRegistry(schemaRegistryUrl), loadSchemaCatalog());

  embeddedAlertIds = await referenceAlertIds(stream.records, logger);
}, 2_400_000);

afterAll(async () => {
  await endServices(services, logDir);
  await kafka?.close();
  rmSync(dataDir, { recursive: true, force: true });
  releaseContractTopics();
});

describe('detector state in snapshots', () => {
  let deletedBelowSnapshots = 0;
  const rebuild = new Map<string, { snapshot: number; input: number }>();
  let alerts: FraudAlert[] = [];
  let detectorsOutput = '';

  it('survives a SIGKILL after the history below the snapshots was deleted', async () => {
    const enricher = await startService(['enricher'], env);
    let detectors = await startService(['detectors'], env);
    services.push(enricher, detectors);
    const producer = await kafka.producer();
    const cut = Math.floor(stream.records.length * 0.7);
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i < cut });
    await drained();

    const manifests = new Map<string, SnapshotManifest[]>();
    await waitFor('a snapshot of every task of every detector stage', async () => {
      for (const group of detectorGroups) {
        const found = await newestManifests(group);
        if (found.length > 0) manifests.set(group, found);
      }
      return manifests.size === detectorGroups.length;
    }, 60_000);
    await stopService(detectors, 'SIGKILL');

    // Retention, at once: every input partition of every stage now starts at its snapshot's position.
    const admin = new Kafka({ brokers: kafkaBrokers.split(','), clientId: 'snapshot-test-retention', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    for (const manifest of [...manifests.values()].flat()) {
      for (const topic of new Set(manifest.positions.map((p) => p.topic))) {
        const positions = manifest.positions.filter((p) => p.topic === topic && p.offset > 0);
        if (positions.length === 0) continue;
        await admin.fetchTopicMetadata({ topics: [topic] });
        await admin.deleteTopicRecords({ topic, partitions: positions.map((p) => ({ partition: p.partition, offset: String(p.offset) })) });
        deletedBelowSnapshots += positions.reduce((n, p) => n + p.offset, 0);
      }
    }
    await admin.disconnect();

    detectors = await startService(['detectors'], env);
    services.push(detectors);
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= cut });
    await producer.disconnect();
    await drained();
    for (const group of detectorGroups) {
      rebuild.set(group, {
        snapshot: await gauge(detectors, 'posguard_state_rebuild_records', { group, source: 'snapshot' }),
        input: await gauge(detectors, 'posguard_state_rebuild_records', { group, source: 'input' }),
      });
    }
    detectorsOutput = detectors.output.join('');
    for (const s of [enricher, detectors]) expect(await stopService(s, 'SIGTERM')).toBe(0);
    alerts = await readTopic<FraudAlert>(kafka, serdes, topics.fraudAlerts);
  }, 900_000);

  it('raises exactly the alerts of an uninterrupted embedded run: none duplicated, none missing', () => {
    const ids = alerts.map((a) => a.alertId);
    expect(ids.length).toBeGreaterThan(10);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(embeddedAlertIds);
  });

  it('rebuilt every stage from its snapshot and the input after it, never from the deleted history', () => {
    expect(deletedBelowSnapshots).toBeGreaterThan(10_000);
    for (const group of detectorGroups) {
      const read = rebuild.get(group)!;
      expect(read.snapshot, group).toBeGreaterThan(0);
    }
    const replayed = [...rebuild.values()].reduce((n, r) => n + r.input, 0);
    expect(replayed).toBeLessThan(deletedBelowSnapshots);
    expect(detectorsOutput).toContain('restored task state from its newest snapshot');
    expect(detectorsOutput).not.toContain('no snapshot covers them');
  });
});
