/**
 * The broker stopped mid-stream and started again, under the running services: once with SIGTERM
 * for 20 seconds (an operator's restart), once with SIGKILL for 40 seconds, longer than a consumer
 * group's session timeout (30 s), while the services are busy with a backlog (a crash under load:
 * no controlled shutdown, the log recovered from disk, every member expired from its group). Ingest
 * runs beside them: while the broker is away it says so on /readyz and answers a request with 503 at
 * once. The test runs a Kafka broker of its own (same code as the native stack, on
 * free loopback ports, in a directory of its own), so stopping it disturbs no other test file. The
 * enricher and the detectors run as processes against it and must come through without a restart:
 * alerts equal the embedded run's, every group drains, no input arrived late, each service is ready
 * again, and every authorisation produced reached auth.enriched.v1 exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stackDown, stackLayout, stackUp, type StackLayout } from '../../infra/local/stack.ts';
import { loadSchemaCatalog } from '../../services/core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import type { EnrichedAuthorisation, FraudAlert } from '../../services/core/records.ts';
import { createKafkaTransport } from '../../services/core/transport/kafka/kafka-transport.ts';
import type { Transport } from '../../services/core/transport/port.ts';
import { detectorStages } from '../../services/detectors/service.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { totalLag } from '../../services/pipeline/drain.ts';
import { expectEachEnrichedOnce, expectTheEmbeddedAlerts, readTopic, referenceAlertIds } from '../support/reference-run.ts';
import { counter, freePort, endServices, startService, stopService, waitForQuietGroups, type ServiceProcess } from '../support/service-process.ts';
import { waitFor } from '../support/wait.ts';
import { groupOf } from '../../services/topology/topology.ts';

const { schemaRegistryUrl } = inject('endpoints');
const logger = createLogger({ level: 'error', name: 'broker-restart' });
const stateDir = mkdtempSync(join(tmpdir(), 'posguard-own-broker-'));
const logDir = join(tmpdir(), 'posguard-broker-restart-logs');
const partitionIdleMs = 1000;
const outageMs = { stopped: 20_000, killed: 40_000 };
const ingestKey = 'acq-broker-restart-0123456789';
const stream = generateStream({ ...defaultGeneratorOptions, seed: 8080, cards: 2000, merchants: 150, days: 20 });
const groups = [groupOf('enricher'), ...detectorStages.map(groupOf)];
let layout: StackLayout;
let brokers = '';
let kafka: Transport;
let serdes: Serdes;
const services: ServiceProcess[] = [];
let embeddedAlertIds: string[] = [];

beforeAll(async () => {
  layout = { ...stackLayout(), stateDir, kafkaPort: await freePort(), controllerPort: await freePort() };
  await stackUp(layout, ['kafka']);
  brokers = `127.0.0.1:${layout.kafkaPort}`;
  kafka = createKafkaTransport({ brokers: [brokers], clientId: 'posguard-broker-restart-test', logger });
  serdes = await registerSerdes(createConfluentSchemaRegistry(schemaRegistryUrl), loadSchemaCatalog());
  embeddedAlertIds = await referenceAlertIds(stream.records, logger);
}, 600_000);

afterAll(async () => {
  await endServices(services, logDir);
  await kafka?.close();
  if (layout !== undefined) await stackDown(layout, ['kafka']);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('broker outages under the running services', () => {
  let alerts: FraudAlert[] = [];
  let enriched: string[] = [];
  let lateInputs = -1;

  it('are ridden out: the services consume again once the broker is back, without being restarted', async () => {
    const env = { KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: schemaRegistryUrl, POSGUARD_PARTITION_IDLE_MS: String(partitionIdleMs), LOG_LEVEL: 'info' };
    const started = await Promise.all([startService(['enricher'], env), startService(['detectors'], env), startService(['ingest'], { ...env, POSGUARD_API_KEYS: `acq-eu-01:${ingestKey}` })]);
    const [, detectors, ingest] = started;
    services.push(...started);
    let producer = await kafka.producer();
    const [third, twoThirds] = [Math.floor(stream.records.length / 3), Math.floor((2 * stream.records.length) / 3)];
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i < third });
    await waitFor('the detectors to be consuming', async () => (await totalLag(kafka, [groupOf('card')])) < 5_000, 120_000);

    // The broker goes away mid-stream: first stopped while the services are idle, then killed under
    // a backlog they are still working through.
    for (const kill of [false, true]) {
      if (kill) await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= twoThirds });
      await producer.disconnect();
      await stackDown(layout, ['kafka'], { kill });
      const readiness = await waitFor('ingest to say the broker is away', async () => {
        const response = await fetch(`http://127.0.0.1:${ingest!.port}/readyz`);
        const body = (await response.json()) as { checks: { name: string; reason?: string }[] };
        return response.status === 503 ? body.checks.find((c) => c.name === 'broker')?.reason : undefined;
      }, 30_000);
      expect(readiness).toMatch(/^Kafka does not answer/);
      const refused = await fetch(`http://127.0.0.1:${ingest!.port}/v1/authorisations`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': ingestKey }, body: JSON.stringify(stream.records.find((r) => r.type === 'authorisation')!.record),
      });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: string }).error).toBe('POSGUARD_ERR_INGEST_UNAVAILABLE');
      await new Promise((resolve) => setTimeout(resolve, kill ? outageMs.killed : outageMs.stopped));
      await stackUp(layout, ['kafka']);
      producer = await kafka.producer();
      if (!kill) {
        await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= third && i < twoThirds });
        await waitFor('the detectors to be consuming again', async () => (await totalLag(kafka, [groupOf('card')])) < 5_000, 300_000);
      }
    }
    await producer.disconnect();
    await waitForQuietGroups(kafka, groups, 6 * partitionIdleMs + 2000, 600_000);
    lateInputs = await counter(detectors, 'posguard_late_inputs_total');
    enriched = (await readTopic<EnrichedAuthorisation>(kafka, serdes, topics.enrichedAuthorisations)).map((e) => e.authorisation.eventId);
    for (const s of started) {
      expect(s.child.exitCode, `${s.name} exited`).toBeNull();
      await waitFor(`${s.name} ready again`, async () => (await fetch(`http://127.0.0.1:${s.port}/readyz`)).status === 200, 30_000);
    }
    for (const s of started) expect(await stopService(s, 'SIGTERM')).toBe(0);
    alerts = await readTopic<FraudAlert>(kafka, serdes, topics.fraudAlerts);
  }, 1_200_000);

  it('enriches every authorisation produced exactly once, and counts no late input', () => {
    console.log(`[broker outages] ${stream.counts.authorisation} authorisations in, ${enriched.length} enriched out (${new Set(enriched).size} distinct), ${lateInputs} late inputs`);
    expectEachEnrichedOnce(enriched, stream.counts.authorisation, lateInputs);
  });

  it('alerts exactly what the embedded run alerts: none lost or duplicated by the outages', () => {
    expectTheEmbeddedAlerts(alerts, embeddedAlertIds);
  });
});
