/**
 * The pipeline end to end on the real stack: Kafka, the schema registry, the ClickHouse engine.
 * Two instances of every stage that scales out — ingest, enricher, detectors (all four stages in
 * each) — run as separate processes beside one sink (it holds the embedded ClickHouse engine,
 * which one process owns); a generated stream goes in partly through HTTP, spread over both ingest
 * instances, and partly straight to Kafka. One ingest instance is killed (SIGKILL) mid-chunk and
 * the acquirer resends the chunk to the other, so the log holds some authorisations twice. Mid-stream
 * one enricher and one detectors instance are killed (SIGKILL) and restarted, and the other
 * detectors instance is stopped (SIGTERM) under load and restarted: their tasks move to the
 * survivors and back. The sink crashes
 * between a ClickHouse insert and its offset commit and is restarted. At the end: the alerts are
 * exactly those an embedded run of the same input gives (no duplicate, none missing), no stage
 * counted a late input, every table holds its input count, and malformed records — a poison pill
 * framed with another topic's schema id among them — are in the dead-letter topic and table.
 *
 * It owns the contract topics (auth.requests.v1 …) on the test broker: they are deleted first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClickHouse, type ClickHouseTarget } from '../../services/core/clickhouse/client.ts';
import { loadSchemaCatalog } from '../../services/core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import type { DeadLetter, Decision, FraudAlert } from '../../services/core/records.ts';
import { createKafkaTransport } from '../../services/core/transport/kafka/kafka-transport.ts';
import type { Transport } from '../../services/core/transport/port.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream, timeOf, type GeneratedStream, type StreamRecord } from '../../services/generator/stream.ts';
import { totalLag } from '../../services/pipeline/drain.ts';
import { scoreAlerts } from '../../services/quality/score.ts';
import { claimContractTopics } from '../support/contract-topics.ts';
import { decisionKey, readTopic, referenceOutputs } from '../support/reference-run.ts';
import { counter, endServices, startService, stopService, waitForQuietGroups, type ServiceProcess } from '../support/service-process.ts';
import { waitFor } from '../support/wait.ts';
import { consumerGroups } from '../../services/topology/topology.ts';

const { kafkaBrokers, schemaRegistryUrl } = inject('endpoints');
// The malformed records are dead-lettered on purpose: their warnings would drown the test output.
const logger = createLogger({ level: 'error', name: 'e2e' });
const apiKey = 'e2e-acquirer-key-0123456789';
const dataDir = mkdtempSync(join(tmpdir(), 'posguard-e2e-'));
const logDir = join(tmpdir(), 'posguard-e2e-logs');
// The default. A shorter idle time makes this test quicker to drain but lets a gap in the test's own
// feed mark auth.enriched.v1 idle while outcomes sent with later authorisations of the same chunk
// arrive first (they skip the enricher): the authorisations are then late, for a reason that has
// nothing to do with the instances. Late inputs from interleaved writers are what this test rules out.
const partitionIdleMs = 2000;
const env = {
  POSGUARD_PARTITION_IDLE_MS: String(partitionIdleMs),
  // Rebuilds and transaction retries are logged at info: the logs below say what happened when this fails.
  LOG_LEVEL: 'info',
  KAFKA_BROKERS: kafkaBrokers, SCHEMA_REGISTRY_URL: schemaRegistryUrl, POSGUARD_DATA_DIR: dataDir,
  POSGUARD_API_KEYS: `acq-eu-01:${apiKey},acq-eu-02:${apiKey}-2,acq-eu-03:${apiKey}-3`, SINK_FLUSH_MS: '500',
};

let stream: GeneratedStream;
let kafka: Transport;
let serdes: Serdes;
const services: ServiceProcess[] = [];
let httpCut = 0;
let httpMalformed = 0;
let kafkaMalformed = 0;
let embeddedAlertIds: string[] = [];
let kafkaAlerts: FraudAlert[] = [];
let embeddedDecisions = new Map<string, Decision>();
let kafkaDecisions: Decision[] = [];
let deadLetters: DeadLetter[] = [];
let clickhouse: ClickHouseTarget;
let releaseContractTopics = () => {};
let lateInputs = 0;
let detectorsOutput = '';

/** Each acquirer's API key (POSGUARD_API_KEYS below): a key may only send its own acquirer's records. */
const keyOf = (acquirerId: unknown) => ({ 'acq-eu-02': `${apiKey}-2`, 'acq-eu-03': `${apiKey}-3` } as Record<string, string>)[String(acquirerId)] ?? apiKey;

/**
 * Sends one chunk of the stream through the HTTP API as batches, profiles first, each acquirer's
 * records with its own key; returns how many were rejected.
 */
async function postChunk(port: number, chunk: readonly StreamRecord[]): Promise<number> {
  const post = async (path: string, records: readonly unknown[]) => {
    let rejected = 0;
    const byKey = new Map<string, unknown[]>();
    for (const r of records) {
      const key = keyOf((r as { acquirerId?: unknown }).acquirerId);
      byKey.set(key, [...(byKey.get(key) ?? []), r]);
    }
    for (const [key, body] of byKey) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body),
      });
      const result = (await response.json()) as { rejected: number; accepted: number };
      expect(response.status, `${path}: ${JSON.stringify(result).slice(0, 500)}`).toBe(result.accepted > 0 ? 202 : 400);
      rejected += result.rejected;
    }
    return rejected;
  };
  let rejected = 0;
  rejected += await post('/v1/merchants', chunk.flatMap((r) => (r.type === 'merchant' ? [r.record] : [])));
  rejected += await post('/v1/terminals', chunk.flatMap((r) => (r.type === 'terminal' ? [r.record] : [])));
  const authorisations: unknown[] = [];
  for (const r of chunk) if (r.type === 'authorisation') authorisations.push(r.record); else if (r.type === 'malformed') authorisations.push(r.json);
  rejected += await post('/v1/authorisations', authorisations);
  rejected += await post('/v1/outcomes', chunk.flatMap((r) => (r.type === 'outcome' ? [r.record] : [])));
  return rejected;
}

beforeAll(async () => {
  // The default stream: the scale at which the detectors are specified (issue: ≥ 10,000 cards, 30 days).
  stream = generateStream(defaultGeneratorOptions);
  kafka = createKafkaTransport({ brokers: kafkaBrokers.split(','), clientId: 'posguard-e2e', logger });
  releaseContractTopics = await claimContractTopics(kafka, kafkaBrokers);
  serdes = await registerSerdes(createConfluentSchemaRegistry(schemaRegistryUrl), loadSchemaCatalog());

  // The reference: the same input through the embedded pipeline (in-process log, no sink).
  const reference = await referenceOutputs(stream.records, logger);
  embeddedAlertIds = reference.alertIds;
  embeddedDecisions = reference.decisions;
}, 2_400_000);

afterAll(async () => {
  await endServices(services, logDir);
  await kafka?.close();
  await clickhouse?.client.close();
  rmSync(dataDir, { recursive: true, force: true });
  releaseContractTopics();
});

describe('the pipeline over Kafka, as separate services', () => {
  it('processes a stream sent partly over HTTP and partly to Kafka, through crashes of one instance of each stage and a resend', async () => {
    const instance = (id: string) => ({ ...env, POSGUARD_INSTANCE_ID: id });
    // Started together, as an operator's scripts would.
    const [ingestA, ingestB0, enricherA, enricherB, detectorsA0, detectorsB0] = await Promise.all([
      startService(['ingest'], instance('a')), startService(['ingest'], instance('b')),
      startService(['enricher'], instance('a')), startService(['enricher'], instance('b')),
      startService(['detectors'], instance('a')), startService(['detectors'], instance('b')),
    ]);
    let [detectorsA, detectorsB, ingestB] = [detectorsA0, detectorsB0, ingestB0];
    let sink = await startService(['sink'], { ...instance('a'), POSGUARD_FAULT_SINK_CRASH_AFTER_INSERTS: '2' });
    services.push(ingestA, ingestB0, enricherA, enricherB, detectorsA, detectorsB, sink);

    // The first quarter over HTTP, in chunks sent to one ingest instance or the other; the rest straight to Kafka as Avro.
    httpCut = Math.floor(stream.records.length / 4);
    let rejectedOverHttp = 0;
    let ingestKilled = false;
    // Each acquirer posts its records of a chunk in a request of its own, so one acquirer's records
    // reach a card's partition after another's later ones: chunks span at most 5 minutes of event
    // time, within the allowed lateness (10), as independent acquirers' clocks and queues would be.
    for (let i = 0, n = 0; i < httpCut; n++) {
      let end = i + 1;
      while (end < httpCut && end - i < 500 && timeOf(stream.records[end]!) - timeOf(stream.records[i]!) < 5 * 60_000) end++;
      const chunk = stream.records.slice(i, end);
      if (!ingestKilled && n >= 40 && n % 2 === 1 && !chunk.some((r) => r.type === 'malformed')) {
        // Ingest b dies mid-chunk (SIGKILL): the acquirer gets no answers, resends the whole chunk
        // to the other instance, and b comes back. What b wrote before dying is now in the log twice.
        const sending = postChunk(ingestB.port, chunk).catch(() => 0);
        await new Promise((resolve) => setTimeout(resolve, 30));
        await stopService(ingestB, 'SIGKILL');
        await sending;
        rejectedOverHttp += await postChunk(ingestA.port, chunk);
        ingestB = await startService(['ingest'], instance('b'));
        services.push(ingestB);
        ingestKilled = true;
      } else {
        rejectedOverHttp += await postChunk((n % 2 === 0 ? ingestA : ingestB).port, chunk);
      }
      i = end;
    }
    httpMalformed = stream.records.slice(0, httpCut).filter((r) => r.type === 'malformed').length;
    expect(ingestKilled).toBe(true);
    expect(rejectedOverHttp).toBe(httpMalformed);
    // The stream's malformed records sent to Kafka, and one poison pill (below).
    kafkaMalformed = stream.records.slice(httpCut).filter((r) => r.type === 'malformed').length + 1;

    const producer = await kafka.producer();
    const crashAt = httpCut + Math.floor((stream.records.length - httpCut) / 3);
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= httpCut && i < crashAt });
    // One enricher and one detectors instance die mid-stream without any chance to clean up, and come back.
    await waitFor('the detectors to have consumed something', async () => (await totalLag(kafka, ['posguard.detectors.card'])) < 2_000, 120_000);
    await Promise.all([stopService(enricherA, 'SIGKILL'), stopService(detectorsA, 'SIGKILL')]);
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= crashAt && i < crashAt + 20_000 });
    // A poison pill: a valid MerchantProfile framed with merchant.profiles.v1-value's schema id, on auth.requests.v1.
    const merchant = stream.records.find((r) => r.type === 'merchant')!;
    await producer.send([{ topic: topics.authorisations, records: [{ key: Buffer.from('poison'), value: serdes.forTopic(topics.merchantProfiles).encode(merchant.record) }] }]);
    const [enricherA2, detectorsA2] = await Promise.all([startService(['enricher'], instance('a')), startService(['detectors'], instance('a'))]);
    detectorsA = detectorsA2;
    services.push(enricherA2, detectorsA2);
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= crashAt + 20_000 && i < crashAt + 60_000 });
    // The other detectors instance is stopped under load (SIGTERM): it commits what it processed and
    // exits 0 within the shutdown bound (past it, the process exits 1), then comes back.
    const lagAtStop = await totalLag(kafka, Object.keys(consumerGroups));
    const stopAt = Date.now();
    expect(await stopService(detectorsB, 'SIGTERM'), 'detectors stopped under load').toBe(0);
    console.log(`[e2e] detectors instance b stopped by SIGTERM in ${Date.now() - stopAt} ms with ${lagAtStop} records of lag`);
    detectorsB = await startService(['detectors'], instance('b'));
    services.push(detectorsB);
    await produceStream(stream.records, producer, serdes, { filter: (_r, i) => i >= crashAt + 60_000 });
    await producer.disconnect();

    // The sink killed itself between an insert and its commit (fault injection); bring it back.
    expect(await sink.exited).toBe('SIGKILL');
    sink = await startService(['sink'], instance('a'));
    services.push(sink);

    await waitForQuietGroups(kafka, Object.keys(consumerGroups), 6 * partitionIdleMs + 2000, Number(process.env.E2E_DRAIN_TIMEOUT_MS ?? 300_000));
    for (const s of [detectorsA, detectorsB]) lateInputs += await counter(s, 'posguard_late_inputs_total');
    for (const s of [ingestA, ingestB, enricherA2, enricherB, detectorsA, detectorsB, sink]) expect(await stopService(s, 'SIGTERM'), s.name).toBe(0);
    detectorsOutput = services.filter((s) => s.name === 'detectors').map((s) => s.output.join('')).join('');

    kafkaAlerts = await readTopic<FraudAlert>(kafka, serdes, topics.fraudAlerts);
    kafkaDecisions = await readTopic<Decision>(kafka, serdes, topics.decisions);
    deadLetters = await readTopic<DeadLetter>(kafka, serdes, topics.deadLetters);
    clickhouse = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
  }, 900_000);

  it('counts no late input in any detector stage: several writers per partition keep event time exact', () => {
    expect(lateInputs).toBe(0);
    // The killed instance's counters died with it; its log lines did not.
    expect(detectorsOutput).not.toContain('inputs arrived after the event-time watermark');
  });

  it('alerts exactly what the embedded run alerts: same ids, none duplicated, none missing', () => {
    const ids = kafkaAlerts.map((a) => a.alertId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(embeddedAlertIds);
    expect(ids.length).toBeGreaterThan(20);
  });

  it('decides on every authorisation once, with the embedded run\'s scores, through the crashes and restarts', () => {
    const keys = kafkaDecisions.map(decisionKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThan(stream.counts.authorisation * 0.99);
    // A live pipeline cannot know its input ended: what each run still holds in its event-time
    // queues at the end may differ — a task's watermark is the lowest of its writers', so a writer
    // whose partitions went quiet early holds back a few of the stream's last authorisations. Only
    // those may be in one run and not the other: a handful, all among the last 1% of the stream in
    // event time. Every decision both made has the same score.
    const byTime = [...embeddedDecisions.values()].map((d) => d.eventTime).sort((a, b) => a - b);
    const tail = byTime[Math.floor(byTime.length * 0.99)]!;
    const decided = new Set(keys);
    const onlyEmbedded = [...embeddedDecisions.values()].filter((d) => !decided.has(decisionKey(d)));
    const onlyKafka = kafkaDecisions.filter((d) => !embeddedDecisions.has(decisionKey(d)));
    expect(onlyEmbedded.length + onlyKafka.length).toBeLessThan(100);
    expect([...onlyEmbedded, ...onlyKafka].filter((d) => d.eventTime < tail).map(decisionKey)).toEqual([]);
    for (const d of kafkaDecisions) if (embeddedDecisions.has(decisionKey(d))) expect(embeddedDecisions.get(decisionKey(d))!.score, decisionKey(d)).toBe(d.score);
  });

  it('finds the injected scenarios with the right detector and subject, with evidence', () => {
    // Floors that catch a detector broken over Kafka; quality itself is measured by the bench.
    const floor = 0.9;
    const scores = scoreAlerts(kafkaAlerts, stream.truth);
    for (const family of scores) {
      if (family.labelledSubjects === 0) continue;
      expect(family.found, `${family.family} missed ${family.missed.join(', ')}`).toBeGreaterThanOrEqual(Math.ceil(floor * family.labelledSubjects));
    }
    for (const alert of kafkaAlerts) {
      expect(alert.evidenceEventIds.length, alert.alertId).toBeGreaterThan(0);
      expect(alert.explanation.length).toBeGreaterThan(20);
    }
  });

  it('stores every record once in ClickHouse, whatever was re-delivered after the crashes', async () => {
    const count = async (table: string) => Number((await (await clickhouse.client.query({ query: `SELECT count() AS n FROM posguard.${table} FINAL`, format: 'JSONEachRow' })).json<{ n: number }>())[0]!.n);
    const terminals = new Set(stream.records.flatMap((r) => (r.type === 'terminal' ? [r.record.terminalId] : []))).size;
    expect(await count('auth_events')).toBe(stream.counts.authorisation);
    expect(await count('enriched_auths')).toBe(stream.counts.authorisation);
    expect(await count('merchants')).toBe(stream.counts.merchant);
    expect(await count('terminals')).toBe(terminals);
    expect(await count('card_outcomes')).toBe(stream.counts.outcome);
    expect(await count('alerts')).toBe(embeddedAlertIds.length);
    expect(await count('decisions')).toBe(kafkaDecisions.length);
  });

  it('keeps every malformed record in the dead-letter topic and table, with the reason', async () => {
    // HTTP rejects them at the door; over Kafka the enricher and the sink each refuse the raw bytes.
    expect(deadLetters.filter((d) => d.service === 'ingest')).toHaveLength(httpMalformed);
    expect(deadLetters.filter((d) => d.service === 'enricher')).toHaveLength(kafkaMalformed);
    // The poison pill is refused for what it is, and the partition went on past it.
    expect(deadLetters.filter((d) => d.errorCode === 'POSGUARD_ERR_CODEC_INCOMPATIBLE_SCHEMA').map((d) => d.service).sort()).toEqual(['enricher', 'sink']);
    expect(deadLetters.filter((d) => d.service === 'ingest').every((d) => d.fieldErrors.length > 0)).toBe(true);
    const rows = await (await clickhouse.client.query({ query: 'SELECT service, count() AS n FROM posguard.dead_letters FINAL GROUP BY service ORDER BY service', format: 'JSONEachRow' }))
      .json<{ service: string; n: number }>();
    expect(Object.fromEntries(rows.map((r) => [r.service, Number(r.n)]))).toEqual({ enricher: kafkaMalformed, ingest: httpMalformed, sink: kafkaMalformed });
  });
});
