/**
 * `posguard run detectors` stopped while it rebuilds its state: SIGTERM ends the process within
 * the documented bound (10 s), with status 0, however much input the rebuild still had to replay.
 * The rebuild is made long on purpose: snapshots off, a few hundred thousand outcomes consumed
 * before the restart.
 *
 * It runs the real services on the contract topics, taking turns with the other files that do.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadSchemaCatalog } from '../../services/core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import type { CardOutcome } from '../../services/core/records.ts';
import { createKafkaTransport } from '../../services/core/transport/kafka/kafka-transport.ts';
import type { Transport } from '../../services/core/transport/port.ts';
import { totalLag } from '../../services/pipeline/drain.ts';
import { claimContractTopics } from '../support/contract-topics.ts';
import { startService, stopService, type ServiceProcess } from '../support/service-process.ts';
import { waitFor } from '../support/wait.ts';
import { groupOf } from '../../services/topology/topology.ts';

const { kafkaBrokers, schemaRegistryUrl } = inject('endpoints');
const shutdownBoundMs = 10_000;
const outcomes = 300_000;
const env = { KAFKA_BROKERS: kafkaBrokers, SCHEMA_REGISTRY_URL: schemaRegistryUrl, POSGUARD_SNAPSHOT_INTERVAL_MS: '0', LOG_LEVEL: 'info' };
let kafka: Transport;
let releaseContractTopics = () => {};
const services: ServiceProcess[] = [];

beforeAll(async () => {
  kafka = createKafkaTransport({ brokers: kafkaBrokers.split(','), clientId: 'posguard-mid-rebuild-test', logger: createLogger({ level: 'error' }) });
  releaseContractTopics = await claimContractTopics(kafka, kafkaBrokers);
}, 2_400_000);

afterAll(async () => {
  await Promise.all(services.map((s) => stopService(s, 'SIGKILL')));
  await kafka?.close();
  releaseContractTopics();
});

describe('a detectors process stopped during a rebuild', () => {
  it('exits with status 0 within the bound on SIGTERM', async () => {
    const first = await startService(['detectors', '--stage', 'card'], { ...env, POSGUARD_INSTANCE_ID: 'first' });
    services.push(first);
    const serde = (await registerSerdes(createConfluentSchemaRegistry(schemaRegistryUrl), loadSchemaCatalog())).forTopic<CardOutcome>(topics.cardOutcomes);
    const producer = await kafka.producer();
    for (let sent = 0; sent < outcomes; sent += 10_000) {
      await producer.send([{ topic: topics.cardOutcomes, records: Array.from({ length: 10_000 }, (_, i) => {
        const n = sent + i;
        const outcome: CardOutcome = { outcomeId: `o-${n}`, cardToken: `tok-${n % 5000}`, kind: 'CONFIRMED_FRAUD', fraudRelated: true, reportedAt: 1_790_000_000_000 + n, disputedEventIds: [], note: null, acquirerId: null };
        return { key: Buffer.from(outcome.cardToken), value: serde.encode(outcome), timestamp: outcome.reportedAt };
      }) }]);
    }
    await producer.disconnect();
    await waitFor('the card stage to consume every outcome', async () => (await totalLag(kafka, [groupOf('card')])) === 0, 300_000);
    expect(await stopService(first, 'SIGTERM')).toBe(0);

    // The restarted stage rebuilds from its whole input (snapshots off); a new outcome makes it start.
    const second = await startService(['detectors', '--stage', 'card'], { ...env, POSGUARD_INSTANCE_ID: 'second' });
    services.push(second);
    const again = await kafka.producer();
    const outcome: CardOutcome = { outcomeId: 'o-next', cardToken: 'tok-next', kind: 'CONFIRMED_FRAUD', fraudRelated: true, reportedAt: 1_790_000_400_000, disputedEventIds: [], note: null, acquirerId: null };
    await again.send([{ topic: topics.cardOutcomes, records: [{ key: Buffer.from(outcome.cardToken), value: serde.encode(outcome), timestamp: outcome.reportedAt }] }]);
    await again.disconnect();
    await waitFor('the rebuild to be under way', () => second.output.join('').includes('replaying the input since the state it starts from'), 120_000);
    const sentAt = Date.now();
    const code = await stopService(second, 'SIGTERM');
    const tookMs = Date.now() - sentAt;
    const log = second.output.join('');
    expect({ code, withinBound: tookMs <= shutdownBoundMs, finishedRebuild: log.includes('replayed the input; task state rebuilt') }, log.slice(-3000))
      .toEqual({ code: 0, withinBound: true, finishedRebuild: false });
  }, 900_000);
});
