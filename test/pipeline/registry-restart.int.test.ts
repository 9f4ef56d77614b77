/**
 * The schema registry killed mid-stream (SIGKILL) and started again 20 seconds later, under the
 * running services, while records keep arriving: the enricher and the detectors read with the
 * schemas they hold, ingest keeps taking authorisations over HTTP with its cached schema, and once
 * the registry is back (its schemas kept on disk, as a production registry keeps them) nothing is
 * lost or duplicated. The test runs a broker and a registry of its own (same code as the native
 * stack, on free loopback ports), so killing the registry disturbs no other test file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackDown, stackEndpoints, stackLayout, stackUp, type StackLayout } from '../../infra/local/stack.ts';
import { loadSchemaCatalog } from '../../services/core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import type { AuthorisationEvent, EnrichedAuthorisation, FraudAlert } from '../../services/core/records.ts';
import { createKafkaTransport } from '../../services/core/transport/kafka/kafka-transport.ts';
import type { Transport } from '../../services/core/transport/port.ts';
import { detectorStages } from '../../services/detectors/service.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { totalLag } from '../../services/pipeline/drain.ts';
import { expectEachEnrichedOnce, expectTheEmbeddedAlerts, readTopic, referenceAlertIds } from '../support/reference-run.ts';
import { counter, endServices, freePort, startService, stopService, waitForQuietGroups, type ServiceProcess } from '../support/service-process.ts';
import { waitFor } from '../support/wait.ts';
import { groupOf } from '../../services/topology/topology.ts';

const logger = createLogger({ level: 'error', name: 'registry-restart' });
const stateDir = mkdtempSync(join(tmpdir(), 'posguard-own-registry-'));
const logDir = join(tmpdir(), 'posguard-registry-restart-logs');
const partitionIdleMs = 1000;
const outageMs = 20_000;
/** The generator's acquirers, each with its ingest key. */
const ingestKeys: Record<string, string> = { 'acq-eu-01': 'acq-01-registry-restart-key', 'acq-eu-02': 'acq-02-registry-restart-key', 'acq-eu-03': 'acq-03-registry-restart-key' };
const stream = generateStream({ ...defaultGeneratorOptions, seed: 9090, cards: 1000, merchants: 80, days: 12 });
const groups = [groupOf('enricher'), ...detectorStages.map(groupOf)];
let layout: StackLayout;
let kafka: Transport;
let serdes: Serdes;
const services: ServiceProcess[] = [];
let embeddedAlertIds: string[] = [];

beforeAll(async () => {
  layout = {
    ...stackLayout(), stateDir, registryDataDir: join(stateDir, 'registry-data'),
    kafkaPort: await freePort(), controllerPort: await freePort(), registryPort: await freePort(),
  };
  await stackUp(layout, ['kafka', 'schema-registry']);
  kafka = createKafkaTransport({ brokers: [stackEndpoints(layout).kafkaBrokers], clientId: 'posguard-registry-restart-test', logger });
  serdes = await registerSerdes(createConfluentSchemaRegistry(stackEndpoints(layout).schemaRegistryUrl), loadSchemaCatalog());
  embeddedAlertIds = await referenceAlertIds(stream.records, logger);
}, 600_000);

afterAll(async () => {
  await endServices(services, logDir);
  await kafka?.close();
  if (layout !== undefined) await stackDown(layout, ['kafka', 'schema-registry']);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('a schema registry restart under the running services', () => {
  let alerts: FraudAlert[] = [];
  let enriched: string[] = [];
  let lateInputs = -1;
  let takenOverHttp = 0;

  it('is ridden out: records keep flowing on the schemas the services hold, and nothing is lost or doubled', async () => {
    const { kafkaBrokers, schemaRegistryUrl } = stackEndpoints(layout);
    const env = { KAFKA_BROKERS: kafkaBrokers, SCHEMA_REGISTRY_URL: schemaRegistryUrl, POSGUARD_PARTITION_IDLE_MS: String(partitionIdleMs), LOG_LEVEL: 'info' };
    const started = await Promise.all([startService(['enricher'], env), startService(['detectors'], env), startService(['ingest'], { ...env, POSGUARD_API_KEYS: Object.entries(ingestKeys).map(([acquirer, key]) => `${acquirer}:${key}`).join(',') })]);
    const [, detectors, ingest] = started;
    services.push(...started);
    const producer = await kafka.producer();
    const [third, twoThirds] = [Math.floor(stream.records.length / 3), Math.floor((2 * stream.records.length) / 3)];
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i < third });
    await waitFor('the detectors to be consuming', async () => (await totalLag(kafka, [groupOf('card')])) < 5_000, 120_000);

    await stackDown(layout, ['schema-registry'], { kill: true });
    // While it is away: the second third arrives through Kafka, and its authorisations' last hundred over HTTP.
    const middle = stream.records.map((r, i) => ({ r, i })).filter(({ i }) => i >= third && i < twoThirds);
    const overHttp = new Set(middle.filter(({ r }) => r.type === 'authorisation').slice(-100).map(({ i }) => i));
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= third && i < twoThirds && !overHttp.has(i) });
    for (const i of overHttp) {
      const authorisation = (stream.records[i] as { record: AuthorisationEvent }).record;
      const response = await fetch(`http://127.0.0.1:${ingest!.port}/v1/authorisations`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': ingestKeys[authorisation.acquirerId]! }, body: JSON.stringify(authorisation),
      });
      expect(response.status, await response.text()).toBe(202);
      takenOverHttp++;
    }
    await new Promise((resolve) => setTimeout(resolve, outageMs));
    await stackUp(layout, ['schema-registry']);
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= twoThirds });
    await producer.disconnect();

    await waitForQuietGroups(kafka, groups, 6 * partitionIdleMs + 2000, 600_000);
    lateInputs = await counter(detectors, 'posguard_late_inputs_total');
    enriched = (await readTopic<EnrichedAuthorisation>(kafka, serdes, topics.enrichedAuthorisations)).map((e) => e.authorisation.eventId);
    for (const s of started) {
      expect(s.child.exitCode, `${s.name} exited`).toBeNull();
      expect((await fetch(`http://127.0.0.1:${s.port}/readyz`)).status).toBe(200);
    }
    for (const s of started) expect(await stopService(s, 'SIGTERM')).toBe(0);
    alerts = await readTopic<FraudAlert>(kafka, serdes, topics.fraudAlerts);
  }, 900_000);

  it('enriches every authorisation produced exactly once, those taken over HTTP during the outage included, and counts no late input', () => {
    console.log(`[registry outage] ${stream.counts.authorisation} authorisations in (${takenOverHttp} over HTTP while the registry was away), ${enriched.length} enriched out (${new Set(enriched).size} distinct), ${lateInputs} late inputs`);
    expect(takenOverHttp).toBe(100);
    expectEachEnrichedOnce(enriched, stream.counts.authorisation, lateInputs);
  });

  it('alerts exactly what the embedded run alerts', () => {
    expectTheEmbeddedAlerts(alerts, embeddedAlertIds);
  });
});
