import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { connectClickHouse } from '../core/clickhouse/client.ts';
import { migrate } from '../core/clickhouse/migrations.ts';
import { announceEngineOwner, serveReadOnlySql } from '../core/clickhouse/shared-engine.ts';
import { loadSchemaCatalog } from '../core/codec/schema-catalog.ts';
import { isPosguardError, PosguardError } from '../core/errors.ts';
import { backoffs, retrying } from '../core/retry.ts';
import { buildServiceApp, type ServiceApp } from '../core/http/service-app.ts';
import { createLogger, type Logger } from '../core/observability/logging.ts';
import { createMetrics } from '../core/observability/metrics.ts';
import { registerScrapeTarget } from '../core/observability/prometheus-targets.ts';
import type { RunningStage } from '../core/service/stage-runner.ts';
import { detectorStages, runDetectors, type DetectorStage } from '../detectors/service.ts';
import { runEnricher } from '../enricher/service.ts';
import { ProfileFeed } from '../core/service/profile-feed.ts';
import { buildIngestApp } from '../ingest/app.ts';
import { LateIngestConnection } from '../ingest/late-connection.ts';
import { BrokerProbe } from '../core/service/broker-probe.ts';
import { topics } from '../core/codec/topics.ts';
import { upstreamCaughtUp } from '../pipeline/drain.ts';
import { snapshotIntervalOf } from '../pipeline/pipeline.ts';
import { connectPlatform } from '../pipeline/platform.ts';
import { loadSettings } from '../pipeline/settings.ts';
import { runSink } from '../sink/service.ts';
import { serveAnalyst } from '../analyst/routes.ts';
import type { Serdes } from '../core/codec/serde.ts';
import type { Producer } from '../core/transport/port.ts';
import { topology, type ServiceName } from '../topology/topology.ts';
import type { Command } from './main.ts';
import { UsageError } from './arguments.ts';

// Ingest is the door in front of the topology; the rest run its stages.
const services: readonly Service[] = ['ingest', ...new Set(topology.map((s) => s.service))];
type Service = 'ingest' | ServiceName;

/** Resolves when SIGTERM or SIGINT arrives; `signalled` says whether one has. */
function stopSignal(logger: Logger, name: string) {
  let signalled = false;
  const arrived = new Promise<void>((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      signalled = true;
      logger.info({ signal }, `${name} stopping`);
      resolve();
    };
    process.once('SIGTERM', on);
    process.once('SIGINT', on);
  });
  return { arrived, signalled: () => signalled };
}

/** The bound holds whatever the service is doing when the signal comes: connecting, rebuilding, mid-batch. */
function exitPastTheBound(stop: ReturnType<typeof stopSignal>, logger: Logger, name: string, boundMs: number): void {
  void stop.arrived.then(() => {
    setTimeout(() => {
      logger.error({ boundMs }, `${name} did not stop within POSGUARD_SHUTDOWN_TIMEOUT_MS; exiting`);
      process.exit(1);
    }, boundMs).unref();
  });
}

/** Where a client on this machine reaches the listener (a wildcard bind answers on loopback). */
function reachableAddress({ address, port }: AddressInfo): string {
  const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
  return `${host}:${port}`;
}

/** What an attempt cut short by a stop resolves to. */
const stopped = Symbol('stopped');

/**
 * Reaches a dependency, retrying with capped, jittered backoff while it is not up (services may
 * start before the stack, or together with it), with `/readyz` saying why meanwhile. Only a refusal
 * that no retry can change (an incompatible schema, an edited migration) ends the start-up.
 * Returns undefined if a stop signal came first.
 */
async function whenUp<T>(what: string, attempt: () => Promise<T>, logger: Logger, stop: ReturnType<typeof stopSignal>, status: { reason: string | undefined }): Promise<T | undefined> {
  return retrying(backoffs.dependency, async () => {
    // A stop wins over an attempt in flight (kafkajs retries inside one): nothing is held yet.
    const result = await Promise.race([attempt(), stop.arrived.then(() => stopped)]);
    return result === stopped ? undefined : result as T;
  }, {
    // Only posguard's own final refusals end the start-up: a client's "gave up" is a dependency not up yet.
    retriable: (error) => !(isPosguardError(error) && !error.retriable),
    stopping: stop.arrived, stopped: () => stop.signalled(),
    onRetry: (n, delayMs, error) => {
      status.reason = `waiting for ${what} (attempt ${n}: ${(error as Error).message})`;
      logger.warn({ attempt: n, retryInMs: Math.round(delayMs), error: (error as Error).message }, `${what}: not reachable yet; retrying`);
    },
  });
}

export const runCommand: Command = {
  summary: 'start one service (ingest, enricher, detectors, sink) against Kafka, the schema registry and ClickHouse',
  usage: `usage: posguard run <${services.join('|')}> [--stage ${detectorStages.join('|')}]\n\n` +
    'Needs KAFKA_BROKERS and SCHEMA_REGISTRY_URL (and CLICKHOUSE_URL for a ClickHouse server; else embedded chDB).\n' +
    'Serves /metrics, /healthz and /readyz (and the ingest API) on HOST:PORT. Waits for Kafka and the registry\n' +
    'if they are not up yet. Stops on SIGTERM or SIGINT within POSGUARD_SHUTDOWN_TIMEOUT_MS.\n' +
    'detectors runs all four stages unless --stage picks one (to scale them separately).',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { stage: { type: 'string' } } });
    const service = positionals[0] as Service | undefined;
    if (service === undefined || !services.includes(service)) throw new UsageError(`name a service: ${services.join(', ')}`);
    const stage = values.stage as DetectorStage | undefined;
    if (stage !== undefined && (service !== 'detectors' || !detectorStages.includes(stage))) {
      throw new UsageError(`--stage goes with detectors and is one of ${detectorStages.join(', ')}`);
    }
    const { config, thresholds } = loadSettings();
    if (config.runMode !== 'distributed') {
      throw new PosguardError('POSGUARD_ERR_CONFIG_INVALID', 'Invalid configuration:\n  KAFKA_BROKERS: posguard run needs a Kafka cluster (for everything on one machine, use posguard demo)', { variables: ['KAFKA_BROKERS'] });
    }
    const name = stage === undefined ? service : `${service}-${stage}`;
    const logger = createLogger({ level: config.logLevel, name });
    const metrics = createMetrics();
    const stop = stopSignal(logger, name);
    exitPastTheBound(stop, logger, name, config.shutdownTimeoutMs);

    const cleanups: (() => Promise<void> | void)[] = [];
    // The sink opens ClickHouse first: an embedded engine is shared through this service's port.
    const clickhouse = service === 'sink' ? await connectClickHouse(config) : undefined;
    if (clickhouse !== undefined) cleanups.push(() => clickhouse.client.close());

    // The port answers from the first moment: /readyz says why the service is not ready yet.
    const status: { reason: string | undefined } = { reason: 'connecting to Kafka and the schema registry' };
    let stages: Pick<RunningStage, 'ready' | 'stop'>[] = [];
    // Ingest only produces: no consumer would notice the broker going away, so a probe asks it.
    let probe: BrokerProbe | undefined;
    const readiness = [
      { name: 'started', check: async () => status.reason },
      { name: 'consuming', check: async () => (stages.every((s) => s.ready()) ? undefined : 'not consuming (joining its group, rebuilding state, or ClickHouse refusing the sink\'s inserts)') },
      { name: 'broker', check: async () => probe?.unavailable() },
    ];
    // Ingest serves its routes from the first moment, answering 503 with the reason until it is connected.
    const ingest = service === 'ingest' ? new LateIngestConnection(() => status.reason ?? probe?.unavailable()) : undefined;
    const app: ServiceApp = ingest === undefined ? buildServiceApp({ service: name, logger, metrics, readiness })
      : buildIngestApp({
        // Read by the routes per request, once unavailable() says the connection is there.
        get producer() { return ingest.producer; }, get serdes() { return ingest.serdes; }, get profileOwners() { return ingest.profileOwners; },
        unavailable: () => ingest.unavailable(), readiness,
        catalog: loadSchemaCatalog(), apiKeys: config.apiKeys, logger, metrics, eventTimeMaxAheadMs: config.eventTimeMaxAheadMs, ratePerAcquirer: config.ingestRatePerAcquirer });
    const sqlPort = clickhouse?.embedded === true ? await serveReadOnlySql(app, config) : undefined;
    // The sink reads ClickHouse: the analyst's page and the alert lifecycle are served where the alerts are, writing once Kafka answers.
    let actions: { producer: Producer; serdes: Serdes } | undefined;
    if (clickhouse !== undefined) serveAnalyst(app, { clickhouse: clickhouse.client, database: config.clickhouseDatabase, apiKeys: config.apiKeys, connection: () => actions });
    if (sqlPort !== undefined) cleanups.push(sqlPort.close);
    await app.listen({ host: config.host, port: config.port });
    const address = reachableAddress(app.server.address() as AddressInfo);
    logger.info({ address }, `${name} starting`);
    // This process holds the engine's directory: analysts reach the data through it.
    if (sqlPort !== undefined) cleanups.push(announceEngineOwner(config.dataDir, `http://${address}/v1/sql`, sqlPort.localKey));

    try {
      // Stopped before a dependency answered: nothing to commit, and an attempt in flight must not hold the process.
      const stoppedBefore = async (what: string): Promise<never> => {
        await app.close();
        logger.info(`${name} stopped before ${what} answered`);
        process.exit(0);
      };
      const platform = await whenUp('Kafka and the schema registry', () => connectPlatform(config, logger, metrics), logger, stop, status)
        ?? await stoppedBefore('Kafka and the schema registry');
      cleanups.push(() => platform.transport.close());
      const common = { transport: platform.transport, serdes: platform.serdes, metrics, instanceId: config.instanceId, logger };
      if (service === 'ingest') {
        // The ingest routes need the producer and serdes when they are built: swap the start-up shell for the API.
        const producer = await platform.transport.producer();
        cleanups.push(() => producer.disconnect());
        // Who registered each merchant and terminal, read before the first request is taken.
        const profiles = new ProfileFeed(platform.transport, platform.serdes, logger);
        cleanups.push(() => profiles.stop());
        await profiles.start(`posguard.ingest.profiles.${config.instanceId}`);
        // Topics created a moment ago by a service started beside this one may have no leader yet.
        await whenUp('the profile topics', async () => { await profiles.catchUp(); return true; }, logger, stop, status)
          ?? await stoppedBefore('the profile topics');
        ingest!.connect({ producer, serdes: platform.serdes, profileOwners: profiles.owners });
        probe = new BrokerProbe(platform.transport.admin, topics.authorisations);
        probe.start();
        cleanups.push(() => probe?.stop());
      } else if (service === 'enricher') {
        stages = [await runEnricher({ ...common, eventTimeMaxAheadMs: config.eventTimeMaxAheadMs })];
      } else if (service === 'detectors') {
        stages = await runDetectors({
          ...common, service: 'detectors', thresholds, decisionPolicies: config.decisionPolicies, partitions: config.partitions, partitionIdleMs: config.partitionIdleMs,
          upstreamCaughtUp: upstreamCaughtUp(platform.transport), snapshotIntervalMs: snapshotIntervalOf(config),
        }, stage === undefined ? detectorStages : [stage]);
      } else {
        const { client, description } = clickhouse!;
        status.reason = `waiting for ClickHouse (${description})`;
        await whenUp(`ClickHouse (${description})`, () => migrate(client, { database: config.clickhouseDatabase, logger, metrics }), logger, stop, status)
          ?? await stoppedBefore('ClickHouse');
        logger.info({ clickhouse: description }, 'ClickHouse ready');
        const producer = await platform.transport.producer();
        cleanups.push(() => producer.disconnect());
        actions = { producer, serdes: platform.serdes };
        stages = [await runSink({
          ...common, clickhouse: client, database: config.clickhouseDatabase, batchRecords: config.sinkBatchRecords, flushMs: config.sinkFlushMs,
          eventTimeMaxAheadMs: config.eventTimeMaxAheadMs,
          crashAfterInserts: config.faultSinkCrashAfterInserts,
        })];
      }
      status.reason = undefined;
      if (config.prometheusTargetsDir !== undefined) {
        cleanups.push(registerScrapeTarget(config.prometheusTargetsDir, `${name}-${config.instanceId}`, { address, labels: { service: name, instance_id: config.instanceId } }));
      }
      logger.info({ address }, `${name} started`);
      await stop.arrived;
    } finally {
      await app.close();
      // Stages first (they commit what they can), then what they ran on, in reverse order of opening.
      for (const s of stages) await s.stop().catch((error: unknown) => logger.warn({ error: (error as Error).message }, 'stopping a stage failed'));
      for (const cleanup of cleanups.reverse()) await cleanup();
    }
    logger.info(`${name} stopped`);
    return 0;
  },
};
