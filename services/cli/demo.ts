import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { connectClickHouse, type ClickHouseClient } from '../core/clickhouse/client.ts';
import { migrate } from '../core/clickhouse/migrations.ts';
import { announceEngineOwner, engineOwner, serveReadOnlySql } from '../core/clickhouse/shared-engine.ts';
import { topics } from '../core/codec/topics.ts';
import { PosguardError } from '../core/errors.ts';
import { buildServiceApp } from '../core/http/service-app.ts';
import { createLogger } from '../core/observability/logging.ts';
import { createMetrics } from '../core/observability/metrics.ts';
import type { FraudAlert } from '../core/records.ts';
import { fmt } from '../detectors/kernel/alert.ts';
import { produceStream } from '../generator/acquirer.ts';
import { generateStream, type GeneratedStream } from '../generator/stream.ts';
import { waitForDrain } from '../pipeline/drain.ts';
import { startPipeline } from '../pipeline/pipeline.ts';
import { connectPlatform, type Platform } from '../pipeline/platform.ts';
import type { Consumer } from '../core/transport/port.ts';
import { loadSettings } from '../pipeline/settings.ts';
import { scoreAlerts } from '../quality/score.ts';
import { tableOfTopic } from '../topology/topology.ts';
import { generatorFlags, generatorOptionsFrom } from './arguments.ts';
import type { Command } from './main.ts';

const out = (line = '') => process.stdout.write(`${line}\n`);

async function count(clickhouse: ClickHouseClient, sql: string): Promise<number> {
  const rows = await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<{ n: number | string }>();
  return Number(rows[0]?.n ?? 0);
}

export const demoCommand: Command = {
  summary: 'run the whole pipeline embedded on synthetic traffic with labelled fraud, into embedded ClickHouse',
  usage: 'usage: posguard demo [--seed N] [--days N] [--cards N] [--merchants N]\n\n' +
    'Generates a synthetic acquirer stream with injected fraud scenarios, runs ingest → enricher → detectors →\n' +
    'sink over the in-process log into embedded ClickHouse (chDB under POSGUARD_DATA_DIR, database posguard_demo,\n' +
    'recreated empty; queryable with posguard query while it runs), shows alerts as they appear, and ends with a summary scored against the ground truth.',
  async run(args) {
    const { values } = parseArgs({ args, options: generatorFlags });
    const options = generatorOptionsFrom(values);
    // The summary reports dead letters; per-record warnings would interleave with the live output.
    const { config: loaded, thresholds } = loadSettings({ LOG_LEVEL: 'error', ...process.env });
    // The demo is the embedded mode by definition: it needs nothing installed.
    const config = { ...loaded, runMode: 'embedded' as const, kafkaBrokers: [], clickhouseUrl: loaded.clickhouseUrl };
    const logger = createLogger({ level: config.logLevel, name: 'demo' });
    const metrics = createMetrics({ defaultMetrics: false });

    out(`posguard demo — seed ${options.seed}, ${options.days} days, ${fmt.int(options.cards)} cards, ${options.merchants} merchants`);
    const owner = config.clickhouseUrl === undefined ? engineOwner(config.dataDir) : undefined;
    if (owner !== undefined) {
      throw new PosguardError('POSGUARD_ERR_CLICKHOUSE_ENGINE_BUSY',
        `the embedded ClickHouse under ${config.dataDir} is held by process ${owner.pid} (a running sink or demo): run the demo with another POSGUARD_DATA_DIR`, { dataDir: config.dataDir });
    }
    const { client: clickhouse, description, embedded } = await connectClickHouse(config);
    // The demo's own database: it is recreated on every run, and must never be one a sink writes.
    const db = `${config.clickhouseDatabase}_demo`;
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    await migrate(clickhouse, { database: db });
    out(`ClickHouse: ${description}, database ${db} (recreated empty)`);
    // While the demo runs it holds the embedded engine; `posguard query` reaches it through this port.
    const sqlApp = buildServiceApp({ service: 'demo', logger, metrics });
    let forgetOwner = () => {};
    let closeSql = async () => {};
    if (embedded) {
      const sqlPort = await serveReadOnlySql(sqlApp, config);
      closeSql = sqlPort.close;
      await sqlApp.listen({ host: '127.0.0.1', port: 0 });
      forgetOwner = announceEngineOwner(config.dataDir, `http://127.0.0.1:${(sqlApp.server.address() as AddressInfo).port}/v1/sql`, sqlPort.localKey);
      out(`While it runs: npx posguard query "SELECT count() FROM ${db}.alerts"`);
    }

    let t0 = Date.now();
    const stream = generateStream(options);
    out(`generated ${fmt.int(stream.records.length)} records (${fmt.int(stream.counts.authorisation)} authorisations, ${stream.counts.outcome} outcomes, ` +
      `${stream.counts.merchant} merchants, ${stream.counts.terminal} terminal profiles, ${stream.counts.malformed} malformed) in ${((Date.now() - t0) / 1000).toFixed(1)}s; ` +
      `${stream.truth.length} labelled fraud subjects`);

    const platform = await connectPlatform(config, logger, metrics);
    const pipeline = await startPipeline({ platform, config: { ...config, clickhouseDatabase: db }, logger, metrics, thresholds, clickhouse });

    // Alerts as they appear: the first few of each detector, then a count.
    const { shown, watcher: alertWatcher } = await watchAlerts(platform);

    const producer = await platform.transport.producer();
    let sent = 0;
    t0 = Date.now();
    const consumedBy = async (service: string, topic: string) => {
      const values = (await metrics.get('posguard_records_consumed_total').get()).values;
      return values.filter((v) => v.labels.service === service && v.labels.topic === topic).reduce((n, v) => n + v.value, 0);
    };
    const progress = setInterval(() => {
      void (async () => {
        const alerts = [...shown.values()].reduce((a, b) => a + b, 0);
        out(`[${((Date.now() - t0) / 1000).toFixed(1)}s] sent ${fmt.int(sent)}/${fmt.int(stream.records.length)} · enriched ${fmt.int(await consumedBy('enricher', topics.authorisations))} · ` +
          `detected ${fmt.int(await consumedBy('detectors', topics.enrichedAuthorisations))} · stored ${fmt.int(await consumedBy('sink', topics.enrichedAuthorisations))} · alerts ${fmt.int(alerts)}`);
      })();
    }, 1000);
    await produceStream(stream.records, producer, platform.serdes, { onChunk: (n) => { sent = n; } });
    await waitForDrain(platform.transport, pipeline);
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(progress);
    await pipeline.sink?.flush();
    await producer.disconnect();
    await alertWatcher.disconnect();
    await pipeline.stop();

    out();
    out(`Processed ${fmt.int(stream.counts.authorisation)} authorisations end to end in ${seconds.toFixed(1)}s: ${fmt.int(stream.counts.authorisation / seconds)} authorisations/s ` +
      '(acquirer → enricher → four detector stages → sink into ClickHouse, exactly-once between topics)');
    out();
    await printSummary(clickhouse, db, stream);
    forgetOwner();
    await sqlApp.close();
    await closeSql();
    await clickhouse.close();
    return 0;
  },
};

/** What the run stored and raised, scored against the stream's ground truth, and what to try next. */
async function printSummary(clickhouse: ClickHouseClient, db: string, stream: GeneratedStream): Promise<void> {
  out('Rows in ClickHouse (FINAL: re-deliveries collapse on their ids):');
  const expected: Record<string, number> = {
    auth_events: stream.counts.authorisation, merchants: stream.counts.merchant, terminals: new Set(stream.records.flatMap((r) => r.type === 'terminal' ? [r.record.terminalId] : [])).size,
    card_outcomes: stream.counts.outcome, enriched_auths: stream.counts.authorisation,
  };
  for (const table of Object.values(tableOfTopic)) {
    const n = await count(clickhouse, `SELECT count() AS n FROM ${db}.${table} FINAL`);
    out(`  ${table.padEnd(16)} ${fmt.int(n).padStart(9)}${expected[table] === undefined ? '' : `   (input ${fmt.int(expected[table]!)})`}`);
  }
  const dead = await (await clickhouse.query({ query: `SELECT service, errorCode, count() AS n FROM ${db}.dead_letters FINAL GROUP BY service, errorCode ORDER BY service`, format: 'JSONEachRow' }))
    .json<{ service: string; errorCode: string; n: number }>();
  for (const d of dead) out(`  dead letters: ${d.n} from ${d.service} (${d.errorCode}); ${stream.counts.malformed} malformed records were sent`);

  const alerts = await (await clickhouse.query({ query: `SELECT alertId, detector, subjectType, subjectId, toUnixTimestamp64Milli(detectedAt) AS detectedAt FROM ${db}.alerts FINAL`, format: 'JSONEachRow' }))
    .json<FraudAlert>();
  out();
  out('Alerts by detector:');
  const byDetector = new Map<string, number>();
  for (const a of alerts) byDetector.set(a.detector, (byDetector.get(a.detector) ?? 0) + 1);
  for (const [detector, n] of [...byDetector].sort()) out(`  ${detector.padEnd(20)} ${fmt.int(n).padStart(6)}`);
  out();
  out('Detection quality against the injected scenarios (subject level):');
  out('  family               labelled  found  alerted  recall  precision  median hours to alert');
  for (const s of scoreAlerts(alerts.map((a) => ({ ...a, detectedAt: Number(a.detectedAt) })), stream.truth)) {
    out(`  ${s.family.padEnd(20)} ${String(s.labelledSubjects).padStart(8)} ${String(s.found).padStart(6)} ${String(s.alertedSubjects).padStart(8)}` +
      `  ${s.recall.toFixed(3)}  ${s.precision.toFixed(3).padStart(9)}  ${s.medianHoursToAlert === null ? '-' : s.medianHoursToAlert.toFixed(1)}`);
  }
  out();
  out('Try next (embedded ClickHouse, same data):');
  out(`  npx posguard query "SELECT detector, severity, count() FROM ${db}.alerts FINAL GROUP BY detector, severity ORDER BY detector"`);
  out(`  npx posguard query "SELECT subjectId, explanation FROM ${db}.alerts FINAL WHERE detector = 'skimming-cluster' LIMIT 5"`);
  out(`  npx posguard query "SELECT terminalId, count() AS fallbacks FROM ${db}.enriched_auths FINAL WHERE chipCardReadWithoutChip GROUP BY terminalId ORDER BY fallbacks DESC LIMIT 5"`);
}

async function watchAlerts(platform: Platform): Promise<{ shown: Map<string, number>; watcher: Consumer }> {
  const shown = new Map<string, number>();
  const watcher = await platform.transport.consumer({ groupId: 'posguard.demo.alerts', topics: [topics.fraudAlerts] });
  const serde = platform.serdes.forTopic<FraudAlert>(topics.fraudAlerts);
  await watcher.run(async (batch) => {
    for (const record of batch.records) {
      const alert = serde.decode(record.value!);
      const n = (shown.get(alert.detector) ?? 0) + 1;
      shown.set(alert.detector, n);
      if (n <= 2) out(`  ⚑ ${alert.severity.padEnd(8)} ${alert.detector} ${alert.subjectType} ${alert.subjectId} — ${alert.explanation}`);
    }
  });
  return { shown, watcher };
}
