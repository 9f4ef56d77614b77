import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { connectClickHouse } from '../core/clickhouse/client.ts';
import { migrate } from '../core/clickhouse/migrations.ts';
import { loadSchemaCatalog } from '../core/codec/schema-catalog.ts';
import { createInProcessSchemaRegistry } from '../core/codec/schema-registry.ts';
import { registerSerdes } from '../core/codec/serde.ts';
import { topics } from '../core/codec/topics.ts';
import type { PosguardConfig } from '../core/config/config.ts';
import { createLogger } from '../core/observability/logging.ts';
import { createMetrics, type Metrics } from '../core/observability/metrics.ts';
import type { Decision, FraudAlert } from '../core/records.ts';
import { fmt } from '../detectors/kernel/alert.ts';
import type { Thresholds } from '../detectors/thresholds.ts';
import { produceStream } from '../generator/acquirer.ts';
import { generateStream, type GeneratedStream } from '../generator/stream.ts';
import { runDetectors } from '../detectors/service.ts';
import { totalLag, upstreamCaughtUp, waitForDrain } from '../pipeline/drain.ts';
import { deletePipelineState } from '../pipeline/reset.ts';
import { ensureTopics } from '../core/service/topology.ts';
import { consumerGroups, groupOf } from '../topology/topology.ts';
import { snapshotIntervalOf, startPipeline } from '../pipeline/pipeline.ts';
import { connectPlatform } from '../pipeline/platform.ts';
import { loadSettings } from '../pipeline/settings.ts';
import { scoreAlerts, type FamilyScore } from '../quality/score.ts';
import { ReplayPipeline } from '../replay/replay-pipeline.ts';
import { generatorFlags, generatorOptionsFrom, positiveInteger } from './arguments.ts';
import type { Command } from './main.ts';

const out = (line = '') => process.stdout.write(`${line}\n`);
const logger = createLogger({ level: 'error', name: 'bench' });

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs of the detection core per figure: on shared machines one run's rate moves by a fifth from run to run. */
const coreRuns = 3;

/**
 * The detection core alone: enrichment and all detector stages in memory, no log, no codec. Run
 * `coreRuns` times over the stream; the rate is the median run's (with the slowest and fastest).
 * Every run must raise the same alerts: the core is deterministic.
 */
function benchCore(stream: GeneratedStream, thresholds: Thresholds, partitions: number): { perSecond: number; slowest: number; fastest: number; alerts: FraudAlert[] } {
  const rates: number[] = [];
  let first: FraudAlert[] | undefined;
  for (let run = 0; run < coreRuns; run++) {
    const alerts: FraudAlert[] = [];
    const pipeline = new ReplayPipeline(thresholds, partitions, (a) => alerts.push(a));
    const started = performance.now();
    for (const r of stream.records) if (r.type !== 'malformed') pipeline.feed({ ok: true, kind: r.type, record: r.record } as Parameters<ReplayPipeline['feed']>[0]);
    pipeline.finish();
    rates.push(stream.counts.authorisation / ((performance.now() - started) / 1000));
    first ??= alerts;
    if (alerts.map((a) => a.alertId).join() !== first.map((a) => a.alertId).join()) {
      throw new Error(`the detection core raised other alerts in run ${run + 1} than in run 1 over the same stream: it is not deterministic`);
    }
  }
  rates.sort((a, b) => a - b);
  return { perSecond: rates[Math.floor(rates.length / 2)]!, slowest: rates[0]!, fastest: rates[rates.length - 1]!, alerts: first! };
}

const coreRate = (core: ReturnType<typeof benchCore>) =>
  `${fmt.int(core.perSecond)} (median of ${coreRuns} runs; ${fmt.int(core.slowest)}–${fmt.int(core.fastest)})`;

interface PipelineRun {
  readonly perSecond: number;
  readonly seconds: number;
  readonly alerts: FraudAlert[];
  readonly latencyMs: number[];
  /** From producing an authorisation to reading its decision back, committed, from fraud.decisions.v1. */
  readonly decisionLatencyMs: number[];
  /** One table row per stage: see transactionsPerStage. */
  readonly transactions: string[];
}

/**
 * The whole pipeline over a platform (in-process or Kafka), fed by the synthetic acquirer as fast
 * as it can produce (or at a pace). Latency: from producing an authorisation to publishing the alert it
 * triggered (alerts triggered by an authorisation, not by a later outcome), and to reading its
 * decision back from the decisions topic (after its transaction committed).
 */
async function benchPipeline(stream: GeneratedStream, config: PosguardConfig, thresholds: Thresholds, withSink: boolean,
  pace?: { perSecond: number; authorisations: number }): Promise<PipelineRun> {
  const platform = await connectPlatform(config, logger);
  if (platform.transport.kind === 'kafka') {
    // From empty topics and groups: what an earlier run (or test) left would be rebuilt first and counted.
    await deletePipelineState(platform.transport, config.kafkaBrokers);
    await ensureTopics(platform.transport.admin, config.partitions, config.topicRetentionMs);
  }
  let clickhouse;
  if (withSink) {
    clickhouse = (await connectClickHouse(config)).client;
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouseDatabase}` });
    await migrate(clickhouse, { database: config.clickhouseDatabase });
  }
  const metrics = createMetrics({ defaultMetrics: false });
  const pipeline = await startPipeline({ platform, config, logger, metrics, thresholds, clickhouse });
  const alerts: FraudAlert[] = [];
  const decidedAt = new Map<string, number>();
  const watcher = await platform.transport.consumer({ groupId: `posguard.bench.outputs.${randomUUID()}`, topics: [topics.fraudAlerts, topics.decisions] });
  await watcher.run(async (batch) => {
    const read = Date.now();
    const serde = platform.serdes.forTopic<FraudAlert & Decision>(batch.topic);
    await serde.prepare(batch.records.map((r) => r.value));
    for (const r of batch.records) {
      const value = serde.decode(r.value!);
      if (batch.topic === topics.fraudAlerts) alerts.push(value);
      else decidedAt.set(value.eventId, read);
    }
  });
  const producedAt = new Map<string, number>();
  const producer = await platform.transport.producer();
  const started = performance.now();
  // Paced: chunks every 50 ms at the given rate, for a bounded number of authorisations.
  const chunkSize = pace === undefined ? 2000 : Math.max(1, Math.round(pace.perSecond / 20));
  let authorisations = 0;
  for (let i = 0; i < stream.records.length; i += chunkSize) {
    if (pace !== undefined && authorisations >= pace.authorisations) break;
    const chunk = stream.records.slice(i, i + chunkSize);
    const due = started + (i / chunkSize) * 50;
    if (pace !== undefined && performance.now() < due) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    await produceStream(chunk, producer, platform.serdes);
    const now = Date.now();
    for (const r of chunk) {
      if (r.type !== 'authorisation') continue;
      producedAt.set(r.record.eventId, now);
      authorisations++;
    }
  }
  await waitForDrain(platform.transport, pipeline, { pollMs: 50 });
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 500));
  await watcher.disconnect();
  await producer.disconnect();
  await pipeline.stop();
  await platform.transport.close();
  await clickhouse?.close();
  const latencyMs: number[] = [];
  const eventTimes = new Map<string, number>();
  for (const r of stream.records) if (r.type === 'authorisation') eventTimes.set(r.record.eventId, r.record.eventTime);
  for (const alert of alerts) {
    const trigger = alert.evidenceEventIds.find((id) => eventTimes.get(id) === alert.detectedAt);
    const at = trigger === undefined ? undefined : producedAt.get(trigger);
    if (at !== undefined) latencyMs.push(alert.emittedAt - at);
  }
  latencyMs.sort((a, b) => a - b);
  const decisionLatencyMs = [...decidedAt].flatMap(([eventId, read]) => {
    const at = producedAt.get(eventId);
    return at === undefined ? [] : [read - at];
  }).sort((a, b) => a - b);
  return { perSecond: authorisations / seconds, seconds, alerts, latencyMs, decisionLatencyMs, transactions: await transactionsPerStage(metrics, seconds) };
}

/** Per stage: its transactions' count, rate, records each, outcomes and mean time per phase, from the stages' own metrics. */
async function transactionsPerStage(metrics: Metrics, seconds: number): Promise<string[]> {
  const values = async (name: Parameters<Metrics['get']>[0]) => (await metrics.get(name).get()).values as { labels: Record<string, string>; value: number; metricName?: string }[];
  const outcomes = await values('posguard_transactions_total');
  const records = await values('posguard_transaction_records');
  const phases = await values('posguard_transaction_phase_seconds');
  const sum = (list: typeof outcomes, match: (v: (typeof outcomes)[number]) => boolean) => list.filter(match).reduce((n, v) => n + v.value, 0);
  const lines = [];
  for (const group of [...new Set(outcomes.map((v) => v.labels.group!))].sort()) {
    const committed = sum(outcomes, (v) => v.labels.group === group && v.labels.outcome === 'committed');
    const failed = sum(outcomes, (v) => v.labels.group === group && v.labels.outcome !== 'committed');
    const perTransaction = sum(records, (v) => v.labels.group === group && v.metricName?.endsWith('_sum') === true) / Math.max(1, committed);
    const meanMs = (phase: string) => {
      const of = (suffix: string) => sum(phases, (v) => v.labels.group === group && v.labels.phase === phase && v.metricName?.endsWith(suffix) === true);
      return (1000 * of('_sum') / Math.max(1, of('_count'))).toFixed(1);
    };
    lines.push(`| ${group} | ${fmt.int(committed)} | ${fmt.int(committed / seconds)} | ${perTransaction.toFixed(0)} | ${failed} | ` +
      `${meanMs('begin')} / ${meanMs('send')} / ${meanMs('send_offsets')} / ${meanMs('commit')} |`);
  }
  return lines;
}

interface RestartRun {
  readonly seconds: number;
  readonly snapshotRecords: number;
  readonly inputRecords: number;
}

/**
 * A restart of the card stage over what the Kafka run left on the broker: from starting the stage
 * to having rebuilt its state and processed one new outcome (which makes it rebuild), with and
 * without its snapshots. Records read come from the stage's own gauges.
 */
async function benchRestart(stream: GeneratedStream, config: PosguardConfig, thresholds: Thresholds, snapshotIntervalMs: number | undefined): Promise<RestartRun> {
  const platform = await connectPlatform(config, logger);
  const metrics = createMetrics({ defaultMetrics: false });
  const started = performance.now();
  const [stage] = await runDetectors({
    transport: platform.transport, serdes: platform.serdes, metrics, logger, service: 'detectors', thresholds, decisionPolicies: config.decisionPolicies,
    partitions: config.partitions, partitionIdleMs: config.partitionIdleMs, upstreamCaughtUp: upstreamCaughtUp(platform.transport), snapshotIntervalMs,
  }, ['card']);
  const outcome = stream.records.find((r) => r.type === 'outcome');
  const producer = await platform.transport.producer();
  if (outcome !== undefined) await produceStream([outcome], producer, platform.serdes);
  await producer.disconnect();
  const group = groupOf('card');
  for (;;) {
    if (stage!.ready() && (await totalLag(platform.transport, [group])) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const read = async (source: string) => (await metrics.get('posguard_state_rebuild_records').get()).values
    .filter((v) => v.labels.group === group && v.labels.source === source).reduce((n, v) => n + v.value, 0);
  const run = { seconds, snapshotRecords: await read('snapshot'), inputRecords: await read('input') };
  await stage!.stop();
  await platform.transport.close();
  return run;
}

/** A free loopback port for a service the benchmark starts. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * The enricher and the detectors scaled out as an operator runs them: `instances` processes of
 * each (`posguard run`), from empty topics, fed by this process as fast as it produces. Finished
 * when their groups have no lag and stay so for a few idle periods (the last inputs released).
 */
async function benchScaledOut(stream: GeneratedStream, config: PosguardConfig, instances: number): Promise<{ perSecond: number; seconds: number; lateInputs: number }> {
  const platform = await connectPlatform(config, logger);
  await deletePipelineState(platform.transport, config.kafkaBrokers);
  await ensureTopics(platform.transport.admin, config.partitions, config.topicRetentionMs);
  const cli = fileURLToPath(new URL('../../bin/posguard.js', import.meta.url));
  const children: { child: ChildProcess; port: number; exited: Promise<unknown> }[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      for (const service of ['enricher', 'detectors']) {
        const port = await freePort();
        // Started as README starts them: the executable, with the Node.js flags of its first line.
        const child = spawn(cli, ['run', service], {
          env: { ...process.env, POSGUARD_INSTANCE_ID: `bench-${i}`, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn',
            POSGUARD_PARTITION_IDLE_MS: String(config.partitionIdleMs), POSGUARD_SNAPSHOT_INTERVAL_MS: String(config.snapshotIntervalMs) },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        children.push({ child, port, exited: new Promise((resolve) => child.once('exit', resolve)) });
      }
    }
    for (const { port, child } of children) {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`a benchmark service exited with status ${child.exitCode}`);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
        if (ready) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const producer = await platform.transport.producer();
    const started = performance.now();
    for (let i = 0; i < stream.records.length; i += 2000) await produceStream(stream.records.slice(i, i + 2000), producer, platform.serdes);
    await producer.disconnect();
    const groups = Object.keys(consumerGroups).filter((g) => g !== groupOf('sink'));
    let drainedAt: number | undefined;
    while (drainedAt === undefined || performance.now() - drainedAt < 4 * config.partitionIdleMs + 1000) {
      if ((await totalLag(platform.transport, groups)) > 0) drainedAt = undefined;
      else drainedAt ??= performance.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (drainedAt - started) / 1000;
    let lateInputs = 0;
    for (const { port } of children) {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const line of metrics.split('\n')) if (line.startsWith('posguard_late_inputs_total{')) lateInputs += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return { perSecond: stream.counts.authorisation / seconds, seconds, lateInputs };
  } finally {
    for (const { child } of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await platform.transport.close();
  }
}

/** What the raw kafkajs client moves through the same broker: produce the same Avro bytes, consume them back. */
async function benchRawKafka(brokers: readonly string[], values: readonly Buffer[], keys: readonly Buffer[]): Promise<number> {
  const kafka = new Kafka({ clientId: 'posguard-bench-raw', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `posguard-bench-raw-${randomUUID()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100 });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let consumed = 0;
  const done = new Promise<void>((resolve) => {
    void consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => {
      consumed += batch.messages.length;
      if (consumed >= values.length) resolve();
    } });
  });
  const started = performance.now();
  for (let i = 0; i < values.length; i += 2000) {
    const messages = values.slice(i, i + 2000).map((value, j) => ({ key: keys[i + j]!, value }));
    await producer.send({ topic, messages, acks: -1 });
  }
  await done;
  const perSecond = values.length / ((performance.now() - started) / 1000);
  await consumer.disconnect();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  return perSecond;
}

function qualityLines(scores: readonly FamilyScore[]): string[] {
  return [
    '| family | labelled subjects | found | alerted subjects | recall | precision | median hours from compromise to alert |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...scores.map((s) => `| ${s.family} | ${s.labelledSubjects} | ${s.found} | ${s.alertedSubjects} | ${s.recall.toFixed(3)} | ${s.precision.toFixed(3)} | ${s.medianHoursToAlert?.toFixed(1) ?? '-'} |`),
  ];
}

/** Detection quality of the core over several seeds of the generator, every seed reported. */
function benchSeeds(seeds: readonly number[], options: ReturnType<typeof generatorOptionsFrom>, thresholds: Thresholds, partitions: number): void {
  out('| seed | family | labelled subjects | found | alerted subjects | recall | precision | median hours from compromise to alert |');
  out('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const seed of seeds) {
    const stream = generateStream({ ...options, seed });
    const core = benchCore(stream, thresholds, partitions);
    for (const s of scoreAlerts(core.alerts, stream.truth)) {
      out(`| ${seed} | ${s.family} | ${s.labelledSubjects} | ${s.found} | ${s.alertedSubjects} | ${s.recall.toFixed(3)} | ${s.precision.toFixed(3)} | ${s.medianHoursToAlert?.toFixed(1) ?? '-'} |`);
    }
    process.stderr.write(`seed ${seed}: ${fmt.int(stream.counts.authorisation)} authorisations at ${coreRate(core)}/s through the detection core\n`);
  }
}

export const benchCommand: Command = {
  summary: 'benchmarks: throughput and latency (embedded, and over Kafka beside raw kafkajs) and detection quality',
  usage: 'usage: posguard bench [--seed N] [--days N] [--cards N] [--merchants N] [--rate N] [--kafka] [--kafka-rate N] [--out results.md]\n' +
    '       posguard bench --seeds 1,2,3,4,5 [--days N] [--cards N] [--merchants N]\n\n' +
    'Runs, on one generated stream, side by side: the detection core in memory; the embedded pipeline\n' +
    '(every service over the in-process log into embedded ClickHouse); detection quality per family.\n' +
    'With --kafka (KAFKA_BROKERS and SCHEMA_REGISTRY_URL set): the raw kafkajs produce+consume rate on the\n' +
    'same broker, and the pipeline over Kafka (all services in this process, exactly-once), with their ratio, as fast as it\n' +
    'goes and fed at --kafka-rate authorisations/s (default 3000) for 20 s, timing ingest → alert and ingest → decision;\n' +
    'then restarts the card stage twice over what that run left: rebuilt from the input, and from its snapshot;\n' +
    'then runs the enricher and the detectors as 1, then 2, processes each (posguard run) over emptied topics.\n' +
    'Latency is measured in a separate embedded run fed at --rate authorisations/s (default 5000) for 20 s, below capacity.\n' +
    'With --seeds: detection quality only (the core in memory), per family for every seed listed.',
  async run(args) {
    const { values } = parseArgs({ args, options: {
      ...generatorFlags, kafka: { type: 'boolean' }, out: { type: 'string' }, rate: { type: 'string' }, 'kafka-rate': { type: 'string' }, seeds: { type: 'string' },
    } });
    const options = generatorOptionsFrom(values);
    const rate = positiveInteger('--rate', values.rate, 5000);
    const kafkaRate = positiveInteger('--kafka-rate', values['kafka-rate'], 3000);
    // A bounded run ends once every stage has settled: a short idle time keeps that wait out of the figures.
    // Snapshots every 20 s, so that the Kafka run pays for some and leaves one for the restart.
    const { config: base, thresholds } = loadSettings({ POSGUARD_PARTITION_IDLE_MS: '250', POSGUARD_SNAPSHOT_INTERVAL_MS: '20000', ...process.env });
    if (values.seeds !== undefined) {
      benchSeeds(values.seeds.split(',').map((s) => positiveInteger('--seeds', s.trim(), 1)), options, thresholds, base.partitions);
      return 0;
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'posguard-bench-'));
    const lines: string[] = [];
    const say = (line = '') => {
      lines.push(line);
      out(line);
    };
    try {
      const stream = generateStream(options);
      say(`# posguard bench — ${new Date().toISOString().slice(0, 10)}`);
      say();
      say(`Stream: seed ${options.seed}, ${options.days} days, ${fmt.int(options.cards)} cards, ${options.merchants} merchants: ` +
        `${fmt.int(stream.counts.authorisation)} authorisations, ${stream.counts.outcome} outcomes. Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}.`);
      say();
      say('| run | authorisations/s | event→alert latency p50 / p95 / p99 (ms) |');
      say('| --- | --- | --- |');
      const core = benchCore(stream, thresholds, base.partitions);
      say(`| detection core (enrichment + all detector stages, in memory) | ${coreRate(core)} | — |`);
      const embeddedConfig: PosguardConfig = { ...base, runMode: 'embedded', kafkaBrokers: [], dataDir, clickhouseUrl: base.clickhouseUrl };
      const embedded = await benchPipeline(stream, embeddedConfig, thresholds, true);
      const percentiles = (ms: readonly number[]) => `${fmt.int(percentile(ms, 50))} / ${fmt.int(percentile(ms, 95))} / ${fmt.int(percentile(ms, 99))}`;
      const lat = (r: PipelineRun) => percentiles(r.latencyMs);
      const decisionLat = (r: PipelineRun) => percentiles(r.decisionLatencyMs);
      say(`| embedded pipeline (in-process log, Avro on every hop, exactly-once stages, sink into chDB), as fast as it goes | ${fmt.int(embedded.perSecond)} | ${lat(embedded)} (backlog) |`);
      const paced = await benchPipeline(stream, embeddedConfig, thresholds, true, { perSecond: rate, authorisations: rate * 20 });
      say(`| embedded pipeline fed at ${fmt.int(rate)} authorisations/s for 20 s (steady state, ${paced.latencyMs.length} alerts timed) | ${fmt.int(paced.perSecond)} | ${lat(paced)} |`);
      say();
      say(`Ingest → decision in that paced run (${fmt.int(paced.decisionLatencyMs.length)} decisions read back): p50 / p95 / p99 ${decisionLat(paced)} ms.`);
      say();
      if (values.kafka === true) {
        if (base.runMode !== 'distributed') throw new Error('--kafka needs KAFKA_BROKERS and SCHEMA_REGISTRY_URL');
        const auths = stream.records.flatMap((r) => (r.type === 'authorisation' ? [r.record] : []));
        // The same Avro bytes the acquirer produces to auth.requests.v1 (Confluent framing).
        const serde = (await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog())).forTopic(topics.authorisations);
        const encoded = auths.map((a) => serde.encode(a));
        const raw = await benchRawKafka(base.kafkaBrokers, encoded, auths.map((a) => Buffer.from(a.cardToken)));
        say(`| raw kafkajs on the same broker (idempotent produce + consume of ${fmt.int(encoded.length)} records, no processing) | ${fmt.int(raw)} | — |`);
        const kafka = await benchPipeline(stream, { ...base, dataDir }, thresholds, false);
        say(`| pipeline over Kafka (enricher + 4 detector stages, transactions, one process; no sink) | ${fmt.int(kafka.perSecond)} | ${lat(kafka)} |`);
        const pacedKafka = await benchPipeline(stream, { ...base, dataDir }, thresholds, false, { perSecond: kafkaRate, authorisations: kafkaRate * 20 });
        say(`| pipeline over Kafka fed at ${fmt.int(kafkaRate)} authorisations/s for 20 s (${pacedKafka.latencyMs.length} alerts timed) | ${fmt.int(pacedKafka.perSecond)} | ${lat(pacedKafka)} |`);
        say();
        say(`Ingest → decision in that paced run, from producing each authorisation to reading its decision back committed from ` +
          `${topics.decisions} (${fmt.int(pacedKafka.decisionLatencyMs.length)} decisions): p50 / p95 / p99 ${decisionLat(pacedKafka)} ms.`);
        say();
        say();
        say('Transactions per stage in that run (from the stages\' own metrics):');
        say();
        say('| stage (group) | committed | per second | records per transaction | aborted or commit failed | mean ms in begin / send / send_offsets / commit |');
        say('| --- | --- | --- | --- | --- | --- |');
        for (const line of kafka.transactions) say(line);
        say();
        say(`Kafka pipeline / raw kafkajs: ${(kafka.perSecond / raw).toFixed(3)}. Each authorisation crosses the broker 4 times in the pipeline ` +
          `(auth.requests → auth.enriched → by-terminal and by-merchant), once in the raw run; the detector stages wrote state snapshots every ` +
          `${fmt.int(snapshotIntervalOf(base)! / 1000)} s during it.`);
        say();
        say('Card stage restart after that run (start → state rebuilt → one new outcome processed):');
        say();
        say('| rebuild from | seconds | snapshot records read | input records replayed |');
        say('| --- | --- | --- | --- |');
        for (const [label, interval] of [['the input topics (snapshots off)', undefined], ['its newest snapshot + the input after it', snapshotIntervalOf(base)]] as const) {
          const restart = await benchRestart(stream, { ...base, dataDir }, thresholds, interval);
          say(`| ${label} | ${restart.seconds.toFixed(1)} | ${fmt.int(restart.snapshotRecords)} | ${fmt.int(restart.inputRecords)} |`);
        }
        say();
        say('Scaled out as an operator runs it: N processes each of the enricher and the detectors (`posguard run`), from empty topics, no sink:');
        say();
        say('| instances per stage | seconds | authorisations/s | against one instance | late inputs counted |');
        say('| --- | --- | --- | --- | --- |');
        const one = await benchScaledOut(stream, { ...base, dataDir }, 1);
        say(`| 1 | ${one.seconds.toFixed(1)} | ${fmt.int(one.perSecond)} | 1.00 | ${one.lateInputs} |`);
        const two = await benchScaledOut(stream, { ...base, dataDir }, 2);
        say(`| 2 | ${two.seconds.toFixed(1)} | ${fmt.int(two.perSecond)} | ${(two.perSecond / one.perSecond).toFixed(2)} | ${two.lateInputs} |`);
      }
      say();
      say(`Detection quality on the embedded run (${embedded.alerts.length} alerts):`);
      say();
      for (const line of qualityLines(scoreAlerts(embedded.alerts, stream.truth))) say(line);
      if (values.out !== undefined) writeFileSync(values.out, `${lines.join('\n')}\n`);
      return 0;
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
