import { parseArgs } from 'node:util';
import { connectClickHouse } from '../core/clickhouse/client.ts';
import { migrate } from '../core/clickhouse/migrations.ts';
import { loadSchemaCatalog } from '../core/codec/schema-catalog.ts';
import { loadConfig } from '../core/config/config.ts';
import { PosguardError } from '../core/errors.ts';
import { buildServiceApp } from '../core/http/service-app.ts';
import { createLogger } from '../core/observability/logging.ts';
import { createMetrics } from '../core/observability/metrics.ts';
import type { RunningStage } from '../core/service/stage-runner.ts';
import { detectorStages, runDetectors, type DetectorStage } from '../detectors/service.ts';
import { thresholdsFromEnv } from '../detectors/thresholds.ts';
import { runEnricher } from '../enricher/service.ts';
import { buildIngestApp } from '../ingest/app.ts';
import { upstreamCaughtUp } from '../pipeline/drain.ts';
import { connectPlatform } from '../pipeline/platform.ts';
import { runSink } from '../sink/service.ts';
import type { Command } from './main.ts';
import { UsageError } from './arguments.ts';

const services = ['ingest', 'enricher', 'detectors', 'sink'] as const;
type Service = (typeof services)[number];

export const runCommand: Command = {
  summary: 'start one service (ingest, enricher, detectors, sink) against Kafka, the schema registry and ClickHouse',
  usage: `usage: posguard run <${services.join('|')}> [--stage ${detectorStages.join('|')}]\n\n` +
    'Needs KAFKA_BROKERS and SCHEMA_REGISTRY_URL (and CLICKHOUSE_URL for a ClickHouse server; else embedded chDB).\n' +
    'Serves /metrics, /healthz and /readyz (and the ingest API) on HOST:PORT. Stops gracefully on SIGTERM or SIGINT.\n' +
    'detectors runs all four stages unless --stage picks one (to scale them separately).',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { stage: { type: 'string' } } });
    const service = positionals[0] as Service | undefined;
    if (service === undefined || !services.includes(service)) throw new UsageError(`name a service: ${services.join(', ')}`);
    const stage = values.stage as DetectorStage | undefined;
    if (stage !== undefined && (service !== 'detectors' || !detectorStages.includes(stage))) {
      throw new UsageError(`--stage goes with detectors and is one of ${detectorStages.join(', ')}`);
    }
    const config = loadConfig();
    if (config.runMode !== 'distributed') {
      throw new PosguardError('POSGUARD_ERR_CONFIG_INVALID', 'Invalid configuration:\n  KAFKA_BROKERS: posguard run needs a Kafka cluster (for everything on one machine, use posguard demo)', { variables: ['KAFKA_BROKERS'] });
    }
    const name = stage === undefined ? service : `${service}-${stage}`;
    const logger = createLogger({ level: config.logLevel, name });
    const metrics = createMetrics();
    const platform = await connectPlatform(config, logger);
    const common = { transport: platform.transport, serdes: platform.serdes, metrics, instanceId: config.instanceId, logger };

    let stop: () => Promise<void>;
    let app;
    if (service === 'ingest') {
      const producer = await platform.transport.producer();
      app = buildIngestApp({ producer, serdes: platform.serdes, catalog: loadSchemaCatalog(), apiKeys: config.apiKeys, logger, metrics });
      stop = () => producer.disconnect();
    } else {
      let stages: Pick<RunningStage, 'ready' | 'stop'>[];
      let closeClickHouse = async () => {};
      if (service === 'enricher') {
        stages = [await runEnricher(common)];
      } else if (service === 'detectors') {
        stages = await runDetectors({
          ...common, service: 'detectors', thresholds: thresholdsFromEnv(process.env), partitions: config.partitions, partitionIdleMs: config.partitionIdleMs,
          upstreamCaughtUp: upstreamCaughtUp(platform.transport),
        }, stage === undefined ? detectorStages : [stage]);
      } else {
        const { client, description } = await connectClickHouse(config);
        await migrate(client, { database: config.clickhouseDatabase, logger, metrics });
        logger.info({ clickhouse: description }, 'ClickHouse ready');
        const crash = process.env.POSGUARD_FAULT_SINK_CRASH_AFTER_INSERTS;
        stages = [await runSink({
          ...common, clickhouse: client, database: config.clickhouseDatabase, batchRecords: config.sinkBatchRecords, flushMs: config.sinkFlushMs,
          crashAfterInserts: crash === undefined || crash === '' ? undefined : Number(crash),
        })];
        closeClickHouse = () => client.close();
      }
      app = buildServiceApp({
        service: name, logger, metrics,
        readiness: [{ name: 'consuming', check: async () => (stages.every((s) => s.ready()) ? undefined : 'not yet consuming (joining its group or rebuilding state)') }],
      });
      stop = async () => {
        for (const s of stages) await s.stop();
        await closeClickHouse();
      };
    }

    await app.listen({ host: config.host, port: config.port });
    logger.info({ address: app.server.address() }, `${name} started`);
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        logger.info({ signal }, `${name} stopping`);
        resolve();
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
    await app.close();
    await stop();
    await platform.transport.close();
    logger.info(`${name} stopped`);
    return 0;
  },
};
